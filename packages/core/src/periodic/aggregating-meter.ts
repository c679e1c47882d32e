import { DeltaDroppedError, MeteringConfigError } from '../errors.js';
import type { DeliveryReceipt, DeltaInput, EnqueueResult, Meter } from '../meter.js';
import { assertKnownOptions } from '../options.js';
import type { CloseReport, DrainReport, MeterStats } from '../stats.js';
import { DELTA_LIMITS } from '../validation.js';
import type { CheckpointOptions, CheckpointReceipt } from '../checkpoint.js';
import { compactUtc, parseInterval, type IntervalSpec } from './interval.js';
import { aggregateReferenceId } from './keys.js';
import { randomHex } from '../random-hex.js';
import { addToSum, totalOf, type RunningSum } from '../running-sum.js';

/**
 * Options of {@link createAggregatingMeter}.
 *
 * @example
 * createAggregatingMeter(meter, { interval: '5m', instanceId: 'web-1', maxOpenAggregates: 50_000 });
 */
export interface AggregatingMeterOptions {
  /** Window length: `'1m'`, `'5m'`, `'1h'`, ... or milliseconds; must be whole seconds dividing 24 h. Default: `'1m'`. */
  interval?: IntervalSpec | undefined;
  /** Same as `interval`, in milliseconds (give one of the two). */
  windowMs?: number | undefined;
  /** A readable label for this instance in referenceIds (e.g. the pod name), 1-16 characters of `[A-Za-z0-9_-]`. A random part is always added. Default: none. */
  instanceId?: string | undefined;
  /** Open (customer, reason) sums held at most; when reached, all are sent early (as parts). Default: 10000. */
  maxOpenAggregates?: number | undefined;
  /** Close the underlying meter in `close()`. Set false when other code shares the meter and closes it. Default: true. */
  closeMeter?: boolean | undefined;
  /** Clock, for tests. Default: `Date.now`. */
  now?: (() => number) | undefined;
}

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

/** A window's names, computed once per window rather than once per aggregate. */
interface WindowNames {
  start: number;
  compact: string;
  startIso: string;
  endIso: string;
}

interface Aggregate extends RunningSum {
  customerId: string;
  reason: string;
  windowStart: number;
  window: WindowNames;
  referenceId: string;
  count: number;
}

const LABEL = /^[A-Za-z0-9_-]{1,16}$/;
const OPTION_NAMES = ['interval', 'windowMs', 'instanceId', 'maxOpenAggregates', 'closeMeter', 'now'];

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
  if (meter === null || typeof meter !== 'object' || typeof meter.enqueue !== 'function' || typeof meter.flush !== 'function' || typeof meter.close !== 'function' || typeof meter.scope !== 'string') {
    throw new MeteringConfigError('meter', 'must be a Meter from createMeter() (with scope, enqueue, flush and close)');
  }
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object');
  assertKnownOptions(options, OPTION_NAMES, '');
  if (options.interval !== undefined && options.windowMs !== undefined) throw new MeteringConfigError('windowMs', 'give interval or windowMs, not both');
  const windowMs = options.windowMs !== undefined ? parseInterval(options.windowMs, 'windowMs') : parseInterval(options.interval ?? '1m', 'interval');
  if (options.instanceId !== undefined && (typeof options.instanceId !== 'string' || !LABEL.test(options.instanceId))) {
    throw new MeteringConfigError('instanceId', `must be 1-16 characters of letters, digits, '_', '-' (got ${JSON.stringify(options.instanceId)})`);
  }
  const maxOpen = options.maxOpenAggregates ?? 10_000;
  if (!Number.isInteger(maxOpen) || maxOpen < 1) throw new MeteringConfigError('maxOpenAggregates', `must be a positive integer (got ${JSON.stringify(options.maxOpenAggregates)})`);
  if (options.closeMeter !== undefined && typeof options.closeMeter !== 'boolean') throw new MeteringConfigError('closeMeter', 'must be a boolean');
  if (options.now !== undefined && typeof options.now !== 'function') throw new MeteringConfigError('now', 'must be a function returning epoch milliseconds');
  const now = options.now ?? Date.now;
  const random = randomHex(6);
  const instanceId = options.instanceId === undefined ? random : `${options.instanceId}-${random}`;
  const closeMeter = options.closeMeter ?? true;

  /** customerId -> reason -> open aggregate. */
  const open = new Map<string, Map<string, Aggregate>>();
  let openCount = 0;
  let openRequests = 0;
  let part = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  const counters = { requests: 0, refusedClosed: 0, aggregatesEnqueued: 0, aggregatesRefused: 0, nettedToZero: 0 };

  function valid(input: DeltaInput): boolean {
    if (input === null || typeof input !== 'object') return false;
    const { customerId, delta, reason } = input;
    return (
      typeof customerId === 'string' && DELTA_LIMITS.customerIdPattern.test(customerId) &&
      typeof delta === 'number' && Number.isFinite(delta) && delta !== 0 && Math.abs(delta) <= DELTA_LIMITS.maxAbsDelta &&
      typeof reason === 'string' && reason.length > 0 && reason.length <= DELTA_LIMITS.maxReasonLength
    );
  }

  let names: WindowNames | undefined;
  function windowNames(start: number): WindowNames {
    if (names?.start !== start) names = { start, compact: compactUtc(start), startIso: new Date(start).toISOString(), endIso: new Date(start + windowMs).toISOString() };
    return names;
  }

  function openAggregate(customerId: string, reason: string, windowStart: number): Aggregate {
    part++;
    const window = windowNames(windowStart);
    const referenceId = aggregateReferenceId({ scope: meter.scope, reason, customerId, windowStart: window.compact, instance: instanceId, part });
    const aggregate: Aggregate = { customerId, reason, windowStart, window, referenceId, sum: 0, compensation: 0, count: 0 };
    let byReason = open.get(customerId);
    if (!byReason) {
      byReason = new Map();
      open.set(customerId, byReason);
    }
    byReason.set(reason, aggregate);
    openCount++;
    armTimer(windowStart + windowMs);
    return aggregate;
  }

  /** Hands one aggregate to the meter and forgets it. */
  function send(aggregate: Aggregate): void {
    const byReason = open.get(aggregate.customerId);
    if (byReason?.get(aggregate.reason) === aggregate) {
      byReason.delete(aggregate.reason);
      if (byReason.size === 0) open.delete(aggregate.customerId);
      openCount--;
      openRequests -= aggregate.count;
    }
    const delta = totalOf(aggregate);
    if (delta === 0 || aggregate.count === 0) {
      if (aggregate.count > 0) counters.nettedToZero++;
      return;
    }
    const result = meter.enqueue({
      customerId: aggregate.customerId,
      delta,
      reason: aggregate.reason,
      referenceId: aggregate.referenceId,
      metadata: { aggregatedRequests: aggregate.count, windowStart: aggregate.window.startIso, windowEnd: aggregate.window.endIso },
    });
    if (result.accepted) counters.aggregatesEnqueued++;
    else counters.aggregatesRefused++;
  }

  /** Sends the aggregates whose window started before `before` (all of them with Infinity). */
  function sendWhere(before: number): number {
    const due: Aggregate[] = [];
    for (const byReason of open.values()) for (const aggregate of byReason.values()) if (aggregate.windowStart < before) due.push(aggregate);
    for (const aggregate of due) send(aggregate);
    return due.length;
  }

  function closeEndedWindows(): number {
    const at = now();
    const sent = sendWhere(at - (at % windowMs));
    rearm();
    return sent;
  }

  function armTimer(at: number): void {
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(onTimer, Math.min(Math.max(0, at - now()), 2_147_483_647));
    timer.unref?.();
  }

  function onTimer(): void {
    timer = undefined;
    timerAt = Infinity;
    closeEndedWindows();
  }

  /** Re-arms for the earliest open window, or leaves no timer when nothing is open. */
  function rearm(): void {
    if (openCount === 0) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      timerAt = Infinity;
      return;
    }
    let earliest = Infinity;
    for (const byReason of open.values()) for (const aggregate of byReason.values()) earliest = Math.min(earliest, aggregate.windowStart);
    if (timer && timerAt === earliest + windowMs) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    timerAt = Infinity;
    armTimer(earliest + windowMs);
  }

  function enqueue(input: DeltaInput): EnqueueResult {
    if (closed) {
      counters.refusedClosed++;
      return { accepted: false, reason: 'closed', error: new DeltaDroppedError('closed', 'the aggregating meter is closed; the delta was not accepted') };
    }
    // The meter refuses what is invalid, with its counters, hooks and typed error.
    if (!valid(input)) return meter.enqueue(input);
    const { customerId, reason, delta } = input;
    const at = now();
    const windowStart = at - (at % windowMs);
    let aggregate = open.get(customerId)?.get(reason);
    if (aggregate && (aggregate.windowStart !== windowStart || Math.abs(totalOf(aggregate) + delta) > DELTA_LIMITS.maxAbsDelta)) {
      // The window moved on before the timer fired, or the sum would leave the API's range: close it.
      send(aggregate);
      aggregate = undefined;
    }
    if (!aggregate) {
      if (openCount >= maxOpen) {
        sendWhere(Infinity);
        rearm();
      }
      aggregate = openAggregate(customerId, reason, windowStart);
    }
    addToSum(aggregate, delta);
    aggregate.count++;
    openRequests++;
    counters.requests++;
    return { accepted: true, referenceId: aggregate.referenceId };
  }

  let closing: Promise<CloseReport> | undefined;

  return {
    get scope() {
      return meter.scope;
    },
    instanceId,
    windowMs,
    enqueue,
    refuse: (error, delta) => meter.refuse(error, delta),
    skip: (cause, delta) => meter.skip?.(cause, delta) ?? { accepted: true, skipped: cause },
    emit(input: DeltaInput): Promise<DeliveryReceipt> {
      if (closed) return Promise.reject(new DeltaDroppedError('closed', 'the aggregating meter is closed; the delta was not accepted'));
      return meter.emit(input);
    },
    flush(flushOptions?: { timeoutMs?: number }): Promise<DrainReport> {
      sendWhere(Infinity);
      rearm();
      return meter.flush(flushOptions);
    },
    close(closeOptions?: { timeoutMs?: number }): Promise<CloseReport> {
      closing ??= (async () => {
        closed = true;
        sendWhere(Infinity);
        rearm();
        if (closeMeter) return meter.close(closeOptions);
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
      return { ...base, dropped, closed: base.closed || closed, aggregation: { instanceId, ...counters, openAggregates: openCount, openRequests } };
    },
    closeEndedWindows,
  };
}
