import type { DropEvent, DropReason, ErrorContext } from './events.js';
import type { DeltaInput, EnqueueResult } from '../meter-api.js';
import type { MeterEvents } from './meter-events.js';
import type { Counters } from './stats.js';

/**
 * How one delta (or an overflow sum of several) that will never be delivered is told: counted in
 * `stats().dropped[reason]`, logged, handed to `onDrop`, and, when `errorStage` says so, to
 * `onError`. Every loss goes through {@link reportDrop}: a refusal at intake, a delta given up in
 * delivery, an overflow sum left at shutdown.
 *
 * @example
 * const drop: Drop = { event, count: 1, level: 'warn', message: 'pacspace-metering: delta refused (queue_full)', logFields: { reason: 'queue_full' } };
 */
export interface Drop {
  /** What `onDrop` gets. */
  event: DropEvent;
  /** Deltas it stands for (an overflow sum: the deltas folded into it). */
  count: number;
  level: 'warn' | 'error';
  message: string;
  logFields: Record<string, unknown>;
  /** Also to `onError`, with this context. */
  errorStage?: ErrorContext;
}

/**
 * Counts, logs and reports a lost delta (see {@link Drop}); hooks are guarded, so it never throws.
 *
 * @example
 * reportDrop(counters, events, { event: { reason: 'closed', attempts: 0, error }, count: 1, level: 'warn', message: 'pacspace-metering: delta refused (closed)', logFields: { reason: 'closed' } });
 */
export function reportDrop(counters: Counters, events: MeterEvents, drop: Drop): void {
  const reason: DropReason = drop.event.reason;
  counters.dropped[reason] = (counters.dropped[reason] ?? 0) + drop.count;
  events.logger[drop.level](drop.logFields, drop.message);
  events.hook('onDrop', drop.event);
  if (drop.errorStage) events.error(drop.event.error, drop.errorStage);
}

/** Refusals that also go to `onError`: a problem with the delta or the store, not with the traffic (a full queue is counted and logged). */
const REPORTED_AS_ERRORS: ReadonlySet<DropReason> = new Set(['invalid', 'too_large', 'store_failed']);

/**
 * Refuses a delta at intake: reported through {@link reportDrop}, answered with the typed error.
 *
 * @example
 * return refuseDelta(counters, events, 'too_large', error, input, referenceId);
 */
export function refuseDelta(counters: Counters, events: MeterEvents, reason: DropReason, error: Error, input?: Partial<DeltaInput>, referenceId?: string): EnqueueResult {
  const { customerId, delta } = readableFields(input);
  reportDrop(counters, events, {
    event: { reason, referenceId, customerId, delta, attempts: 0, error },
    count: 1,
    level: 'warn',
    message: `pacspace-metering: delta refused (${reason})`,
    logFields: { reason, referenceId, customerId, err: error },
    errorStage: REPORTED_AS_ERRORS.has(reason) ? { stage: 'intake', referenceId, customerId } : undefined,
  });
  return { accepted: false, reason, error, ...(referenceId ? { referenceId } : {}) };
}

/**
 * The customerId and delta of a refused input, for the report; a hostile input (throwing getters, a Proxy) yields neither.
 *
 * @example
 * readableFields({ customerId: 'acme', delta: -1 }); // -> { customerId: 'acme', delta: -1 }
 */
export function readableFields(input: Partial<DeltaInput> | undefined): { customerId?: string; delta?: number } {
  try {
    const customerId = typeof input?.customerId === 'string' ? input.customerId : undefined;
    const delta = typeof input?.delta === 'number' ? input.delta : undefined;
    return { customerId, delta };
  } catch {
    return {};
  }
}
