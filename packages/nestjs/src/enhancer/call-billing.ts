import type { ExecutionContext } from '@nestjs/common';
import { DeltaValidationError, claimKey, customerIdOf, hasClaims, isClaimed, thenableError, type Meter } from '@pacspace-metering/core';
import { messages } from '../module/metering.messages.js';
import type { RouteMetering } from '../metering/metering.route.js';
import { errorText } from './error-text.js';
import type { HttpObject } from './http-object.js';

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

  private enqueue(route: RouteMetering, context: ExecutionContext, req: unknown, requestId: string, result: unknown, base: Record<string, unknown>): Promise<boolean> | undefined {
    let customerId: unknown;
    try {
      customerId = route.customerId(req, context);
    } catch (err) {
      return this.refuse(route, 'customerId', err);
    }
    const asyncCustomer = thenableError(customerId, 'customerId');
    if (asyncCustomer !== undefined) return this.refuse(route, 'customerId', asyncCustomer);
    customerId = customerIdOf(customerId);
    let delta: unknown = route.delta;
    if (typeof route.delta === 'function') {
      try {
        delta = route.delta(req, result, context);
      } catch (err) {
        return this.refuse(route, 'delta', err, customerId);
      }
      const asyncDelta = thenableError(delta, 'delta');
      if (asyncDelta !== undefined) return this.refuse(route, 'delta', asyncDelta, customerId);
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

/**
 * True when the Express middleware already enqueued this delta (its claim is on the request). The
 * referenceId is built by the Meter from the request id, so the same call metered twice carries
 * the same referenceId and counts once at PacSpace; with the claim not even a second delivery is
 * made. The middleware keeps its claims in `res.locals` (older versions: on `req`).
 */
function claimedByMiddleware(req: unknown, key: string): boolean {
  const holder = req as HttpObject | undefined;
  const locals = holder?.res?.locals as object | undefined;
  const claims = locals !== undefined && hasClaims(locals) ? locals : holder !== undefined && hasClaims(holder) ? holder : undefined;
  return claims !== undefined && isClaimed(claims, key);
}
