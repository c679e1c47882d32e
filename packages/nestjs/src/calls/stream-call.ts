import type { ServerResponse } from 'node:http';
import type { ExecutionContext } from '@nestjs/common';
import { createStreamUsage, customerIdOf, DeltaValidationError, NOTHING_TO_BILL, thenableError, type StreamUsage } from '@pacspace-metering/core';
import type { MeteredCall, StreamCounter } from '../metering/metering.call.js';
import type { RouteMetering } from '../metering/metering.route.js';
import type { UnitsResolver } from '../module/resolver.types.js';
import type { CallBilling } from '../billing/call-billing.js';
import { errorText } from '../enhancer/error-text.js';

/** One meter of a stream: its reason, price per unit, and units per event or chunk. */
interface StreamMeter {
  reason: string;
  perUnit: number;
  units: UnitsResolver | undefined;
}

/**
 * @internal A stream route's call (`@Sse()`, or `units` given): counts the units of each event or
 * chunk the handler sends (`count`), and bills them once per reason, through core's
 * `createStreamUsage`, when the response closes: `ended` when it was fully written, `aborted` when
 * the client cut it (or the stream failed after sending some). Nothing is billed when the handler
 * never ran, or failed (or answered an error status) before sending anything.
 */
export class StreamCall implements MeteredCall, StreamCounter {
  result: unknown = undefined;
  observed = false;
  readonly stream: StreamCounter = this;
  private usage: StreamUsage | undefined;
  private sent = false;
  private readonly meters: StreamMeter[];

  constructor(
    private readonly billing: CallBilling,
    readonly route: RouteMetering,
    readonly context: ExecutionContext,
    readonly req: unknown,
    readonly requestId: string,
    private readonly metadata: () => Record<string, unknown>,
  ) {
    const list = route.meters ?? [{ reason: route.reason, delta: route.delta, units: route.units }];
    this.meters = list.map(({ reason, delta, units }) => ({ reason, perUnit: delta as number, units }));
  }

  /** The handler is about to run (every guard passed): resolves who pays; false when nothing is to be counted. */
  open(): boolean {
    let customerId: unknown;
    try {
      customerId = this.route.customerId(this.req, this.context);
    } catch (err) {
      return this.refuseOpen('customerId', err);
    }
    const asyncCustomer = thenableError(customerId, 'customerId');
    if (asyncCustomer !== undefined) return this.refuseOpen('customerId', asyncCustomer);
    if (customerId === NOTHING_TO_BILL) {
      for (const { reason } of this.meters) this.billing.skip(reason, undefined, this.requestId);
      return false;
    }
    const prices = new Map(this.meters.map((meter) => [meter.reason, meter.perUnit]));
    let metadata: Record<string, unknown>;
    try {
      metadata = this.metadata();
    } catch (err) {
      return this.refuseOpen('metadata', err, customerId);
    }
    // An unusable customer id is the Meter's to refuse, with each delta, when the stream is billed.
    this.usage = createStreamUsage(this.billing.meter(), { customerId: customerIdOf(customerId) as string, requestId: this.requestId, metadata, deltaOf: (reason, units) => units * prices.get(reason)! });
    return true;
  }

  /** One event (SSE) or chunk (StreamableFile) was sent: counts its units for each meter. */
  count(value: unknown, chunk: boolean): void {
    if (this.usage === undefined || this.usage.settled !== undefined) return;
    this.sent = true;
    for (const meter of this.meters) {
      let units: unknown;
      try {
        units = meter.units === undefined ? defaultUnits(value, chunk) : meter.units(value, this.req);
        this.usage.add(meter.reason, units as number);
      } catch (err) {
        const field = this.meters.length > 1 ? `meters[${this.meters.indexOf(meter)}].units` : 'units';
        const error = err instanceof DeltaValidationError ? new DeltaValidationError(field, err.message, { cause: err }) : new DeltaValidationError(field, `the units resolver threw: ${errorText(err)}`, { cause: err });
        this.billing.refuse({ ...this.route, reason: meter.reason }, field, error);
      }
    }
  }

  /** The stream failed: what was sent is billed as cut short; nothing when nothing was sent. */
  fail(): void {
    if (this.usage === undefined) return;
    if (this.sent) this.usage.abort();
    else this.usage.cancel();
  }

  /** The response closed: billed once, as `ended` when fully written with a success status. */
  settle(rawRes: ServerResponse, succeeded: boolean): void {
    if (this.usage === undefined || this.usage.settled !== undefined) return;
    if (!this.sent && !succeeded) this.usage.cancel();
    else if (rawRes.writableFinished && succeeded) this.usage.end();
    else this.usage.abort();
  }

  /** Message calls: not a stream, billed by its response. */
  bill(): void {}

  private refuseOpen(field: string, err: unknown, customerId?: unknown): false {
    this.billing.refuse(this.route, field, err, customerId);
    return false;
  }
}

/** 1 per SSE event; the byte length of a file chunk. */
function defaultUnits(value: unknown, chunk: boolean): number {
  if (!chunk) return 1;
  return typeof value === 'string' ? Buffer.byteLength(value) : ((value as { byteLength?: number }).byteLength ?? 0);
}
