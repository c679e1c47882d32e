import { DeltaDroppedError } from '../../errors.js';
import type { DeliveryReceipt, DeltaInput, EnqueueResult, Meter } from '../../meter.js';
import type { CloseReport, DrainReport, MeterStats } from '../../reporting/stats.js';
import { DELTA_LIMITS } from '../../intake/validation.js';
import type { CheckpointOptions, CheckpointReceipt } from '../../client/checkpoint.js';
import { resolveAggregatingConfig, type AggregatingMeterOptions } from './aggregating-options.js';
import { OpenAggregates } from './open-aggregates.js';

export type { AggregatingMeterOptions } from './aggregating-options.js';

/**
 * Aggregation counters, under `stats().aggregation`.
 *
 * @example
 * const { requests, aggregatesEnqueued, openAggregates } = aggregated.stats().aggregation;
 */
export interface AggregationStats {
  /** This aggregator's instance id, as it appears in referenceIds. */
  instanceId: string;
  /** Requests summed into aggregates. */
  requests: number;
  /** Requests refused at the aggregator because it was closed. */
  refusedClosed: number;
  /** Open (customer, reason) sums. */
  openAggregates: number;
  /** Requests summed in the open aggregates. */
  openRequests: number;
  /** Aggregates handed to the meter. */
  aggregatesEnqueued: number;
  /** Aggregates the meter refused (counted and reported by the meter as well). */
  aggregatesRefused: number;
  /** Aggregates whose requests netted to 0: nothing to send. */
  nettedToZero: number;
}

/**
 * A Meter that sums deltas per (customer, reason, window) and sends one delta per window.
 *
 * @example
 * const aggregated: AggregatingMeter = createAggregatingMeter(meter, { interval: '1m' });
 * aggregated.enqueue({ customerId: 'acme', delta: -1, reason: 'search' }); // -> { accepted: true, referenceId: 'api:search:acme:agg.…' }
 */
export interface AggregatingMeter extends Meter {
  /** This aggregator's instance id (label plus 48 random bits), part of every aggregate's referenceId. */
  readonly instanceId: string;
  /** Window length in milliseconds. */
  readonly windowMs: number;
  /** The meter's stats, plus `aggregation`; aggregator refusals are added to `dropped.closed`. */
  stats(): MeterStats & { aggregation: AggregationStats };
  /** Sends the aggregates of every window that has ended by now; the timer does this on its own. Returns how many were handed to the meter. */
  closeEndedWindows(): number;
}

/**
 * Wraps a Meter for high-volume routes: `enqueue` adds the delta to an in-memory sum per
 * (customer, reason, window) instead of queuing a request, and when the window ends (an unref'd
 * timer, armed only while sums are open) each sum is enqueued into the meter as one delta with the
 * referenceId `{scope}:{reason}:{customer}:agg.{windowStart}.{instance}.{part}` and metadata
 * `{ aggregatedRequests, windowStart, windowEnd }`. The meter then delivers it with its usual
 * retries, exactly once. It has the Meter's surface, so `meterRequests(aggregator, ...)` and the
 * Nest module take it unchanged.
 *
 * - `enqueue` is synchronous, O(1), never throws; it returns the referenceId of the aggregate the
 *   request joined. Invalid input is handed to the meter, which refuses, counts and reports it.
 *   Per-request `referenceId`, `requestId` and `metadata` are not kept (one delta stands for many).
 * - `flush()` sends the open sums now (as parts: the rest of the window continues under a new
 *   part number), then flushes the meter. `close()` stops intake, sends every open sum, and
 *   closes the meter (unless `closeMeter: false`).
 * - `emit()` is not aggregated: it goes straight to the meter, for calls that need a receipt.
 * - A crash loses the open sums (at most one window's usage of this instance); a graceful
 *   shutdown (`close`, or the Nest module's flush) sends them.
 *
 * @example
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'search-api' });
 * const aggregated = createAggregatingMeter(meter, { interval: '1m', instanceId: process.env.HOSTNAME?.slice(0, 16) });
 * app.get('/search', meterRequests(aggregated, { customerId: (req) => req.user.id }), search);
 * process.on('SIGTERM', () => aggregated.close({ timeoutMs: 10_000 }));
 */
export function createAggregatingMeter(meter: Meter, options: AggregatingMeterOptions = {}): AggregatingMeter {
  const config = resolveAggregatingConfig(meter, options);
  const { instanceId, windowMs } = config;
  const sums = new OpenAggregates(meter, config);
  const { counters } = sums;
  let closed = false;
  let closing: Promise<CloseReport> | undefined;
  const sendAll = () => {
    sums.sendWhere(Infinity);
    sums.rearm();
  };

  return {
    get scope() {
      return meter.scope;
    },
    instanceId,
    windowMs,
    enqueue(input: DeltaInput): EnqueueResult {
      if (closed) {
        counters.refusedClosed++;
        return { accepted: false, reason: 'closed', error: new DeltaDroppedError('closed', 'the aggregating meter is closed; the delta was not accepted') };
      }
      // The meter refuses what is invalid, with its counters, hooks and typed error.
      return valid(input) ? sums.add(input) : meter.enqueue(input);
    },
    refuse: (error, delta) => meter.refuse(error, delta),
    skip: (cause, delta) => meter.skip?.(cause, delta) ?? { accepted: true, skipped: cause },
    emit(input: DeltaInput): Promise<DeliveryReceipt> {
      if (closed) return Promise.reject(new DeltaDroppedError('closed', 'the aggregating meter is closed; the delta was not accepted'));
      return meter.emit(input);
    },
    flush(flushOptions?: { timeoutMs?: number }): Promise<DrainReport> {
      sendAll();
      return meter.flush(flushOptions);
    },
    close(closeOptions?: { timeoutMs?: number }): Promise<CloseReport> {
      closing ??= (async () => {
        closed = true;
        sendAll();
        if (config.closeMeter) return meter.close(closeOptions);
        const report = await meter.flush({ timeoutMs: closeOptions?.timeoutMs ?? 30_000 });
        return { ...report, pendingReferenceIds: [] };
      })();
      return closing;
    },
    checkpoint(customerId?: string, checkpointOptions?: CheckpointOptions): Promise<CheckpointReceipt> {
      return meter.checkpoint(customerId, checkpointOptions);
    },
    verifyCredentials: (verifyOptions) => meter.verifyCredentials(verifyOptions),
    get durable() {
      return meter.durable;
    },
    stats() {
      const base = meter.stats();
      const dropped = { ...base.dropped };
      if (counters.refusedClosed > 0) dropped.closed = (dropped.closed ?? 0) + counters.refusedClosed;
      return { ...base, dropped, closed: base.closed || closed, aggregation: { instanceId, ...counters, openAggregates: sums.count, openRequests: sums.requests } };
    },
    closeEndedWindows: () => sums.closeEndedWindows(),
  };
}

/** What the aggregator can sum; anything else goes to the meter, which refuses and reports it. */
function valid(input: DeltaInput): boolean {
  if (input === null || typeof input !== 'object') return false;
  const { customerId, delta, reason } = input;
  return (
    typeof customerId === 'string' && DELTA_LIMITS.customerIdPattern.test(customerId) &&
    typeof delta === 'number' && Number.isFinite(delta) && delta !== 0 && Math.abs(delta) <= DELTA_LIMITS.maxAbsDelta &&
    typeof reason === 'string' && reason.length > 0 && reason.length <= DELTA_LIMITS.maxReasonLength
  );
}
