import type { ExecutionContext } from '@nestjs/common';
import { DeltaValidationError, NOTHING_TO_BILL, claimKey, customerIdOf, skipped, thenableError, type Meter } from '@pacspace-metering/core';
import { billMeters } from './bill-meters.js';
import { messages } from '../module/metering.messages.js';
import type { RouteMetering } from '../metering/metering.route.js';
import { errorText } from '../enhancer/error-text.js';
import { claimedByMiddleware } from './middleware-claims.js';

/** @internal What the billing call needs from its enhancer. */
export interface CallBillingHost {
  /** The Meter calls are billed through (looked up late: the module may resolve after the enhancer). */
  meter(): Meter;
  /** The metadata extension point (the enhancer's `buildMetadata`). */
  buildMetadata(route: RouteMetering, context: ExecutionContext, req: unknown, result: unknown, base: Record<string, unknown>): Record<string, unknown>;
  warnOnce(key: string, message: string): void;
}

/**
 * @internal The last extension point of the enhancer: turning a finished call into a delta. Runs
 * the route's resolvers (customer, delta, metadata) and enqueues once per request and referenceId;
 * a resolver that throws or returns a Promise refuses the delta with the real cause (counted in
 * `stats().dropped.invalid`, `onDrop`, `onError`; logged once per route). Never throws.
 */
export class CallBilling {
  constructor(private readonly host: CallBillingHost) {}

  /** Bills one call; answers the store's promise of durability when it writes behind (the response then waits for it). */
  record(route: RouteMetering, context: ExecutionContext, req: unknown, requestId: string, result: unknown, base: Record<string, unknown>): Promise<boolean> | undefined {
    try {
      return this.enqueue(route, context, req, requestId, result, base);
    } catch (err) {
      // Unreachable by design (every user callback is guarded, enqueue never throws); a listener must never throw.
      this.host.warnOnce(`${route.where}:internal`, messages.resolverFailed(route.where, 'metering', errorText(err)));
      return undefined;
    }
  }

  /**
   * A resolver threw, returned a Promise, or the request id could not be found: the Meter refuses
   * the delta with the real cause. `err` is used as it is when it already names the field.
   */
  refuse(route: RouteMetering, field: string, err: unknown, customerId?: unknown): undefined {
    this.host.warnOnce(`${route.where}:${field}`, messages.resolverFailed(route.where, field, errorText(err)));
    const error = err instanceof DeltaValidationError ? err : new DeltaValidationError(field, `the ${field} resolver threw: ${errorText(err)}`, { cause: err });
    this.host.meter().refuse(error, { reason: route.reason, ...(typeof customerId === 'string' ? { customerId } : {}) });
    return undefined;
  }

  /** An `isSuccess` option that could not decide: refused for every route, logged once. */
  refuseUndecidable(error: DeltaValidationError): void {
    this.host.warnOnce('isSuccess', messages.resolverFailed('every route', 'isSuccess', errorText(error)));
    this.host.meter().refuse(error);
  }

  /** @internal Counts one meter of a call with nothing to bill (`stats().skipped.nothing_to_bill`). */
  skip(reason: string, customerId: unknown, requestId: string): undefined {
    skipped(this.host.meter(), 'nothing_to_bill', { reason, requestId, ...(typeof customerId === 'string' ? { customerId } : {}) });
    return undefined;
  }

  /** @internal The meter the route bills through. */
  meter(): Meter {
    return this.host.meter();
  }

  /** @internal The route's metadata for one call (the metadata extension point). */
  metadataOf(route: RouteMetering, context: ExecutionContext, req: unknown, result: unknown, base: Record<string, unknown>): Record<string, unknown> {
    return this.host.buildMetadata(route, context, req, result, base);
  }

  /** The customer resolver answered NOTHING_TO_BILL: every meter of the call is skipped. */
  private skipAll(route: RouteMetering, requestId: string): undefined {
    for (const { reason } of route.meters ?? [route]) this.skip(reason, undefined, requestId);
    return undefined;
  }

  private enqueue(route: RouteMetering, context: ExecutionContext, req: unknown, requestId: string, result: unknown, base: Record<string, unknown>): Promise<boolean> | undefined {
    let customerId: unknown;
    try {
      customerId = route.customerId(req, context);
    } catch (err) {
      return this.refuse(route, 'customerId', err);
    }
    const asyncCustomer = thenableError(customerId, 'customerId');
    if (asyncCustomer !== undefined) return this.refuse(route, 'customerId', asyncCustomer);
    if (customerId === NOTHING_TO_BILL) return this.skipAll(route, requestId);
    customerId = customerIdOf(customerId);
    if (route.meters !== undefined) return billMeters(this, route, context, req, requestId, result, base, customerId);
    let delta: unknown = route.delta;
    if (typeof route.delta === 'function') {
      try {
        delta = route.delta(req, result, context);
      } catch (err) {
        return this.refuse(route, 'delta', err, customerId);
      }
      const asyncDelta = thenableError(delta, 'delta');
      if (asyncDelta !== undefined) return this.refuse(route, 'delta', asyncDelta, customerId);
      // Nothing to bill (a cache hit): counted as skipped, never a drop. (A 0 is the Meter's to skip.)
      if (delta === NOTHING_TO_BILL) return this.skip(route.reason, customerId, requestId);
    }
    let metadata: Record<string, unknown>;
    try {
      metadata = this.host.buildMetadata(route, context, req, result, base);
    } catch (err) {
      return this.refuse(route, 'metadata', err, customerId);
    }
    const meter = this.host.meter();
    if (typeof customerId === 'string' && claimedByMiddleware(req, claimKey(meter.scope, route.reason, customerId))) return undefined;
    const enqueued = meter.enqueue({ customerId: customerId as string, delta: delta as number, reason: route.reason, requestId, metadata });
    return enqueued.accepted ? enqueued.committed : undefined;
  }
}
