import { randomUUID } from 'node:crypto';
import { AcceptedDelta } from './accepted-delta.js';
import { DeltaDroppedError, DeltaValidationError } from './errors.js';
import type { DropReason } from './events.js';
import type { MeterEvents } from './meter-events.js';
import type { DeltaInput, EnqueueResult, SkipAnswer, SkippedDelta } from './meter-api.js';
import type { SkipCause } from './nothing-to-bill.js';
import type { MeterConfig } from './options.js';
import type { OverflowSum, OverflowSums } from './overflow-sums.js';
import { buildReferenceId } from './reference-id.js';
import { totalOf } from './running-sum.js';
import type { Counters } from './stats.js';
import type { MeterStore, QueuedDelta, StoreIdentity } from './store.js';
import type { UsageTap } from './balance/unsettled-usage.js';
import { assertAdjusts, assertCustomerId, assertDelta, assertMetadata, assertReason, assertReferenceId, referenceIdWithin, serializeDelta, type DeltaFields } from './validation.js';

/** What {@link createIntake} needs from the Meter. */
export interface IntakeContext {
  config: MeterConfig;
  store: MeterStore;
  /** Who the Meter is: set on prepared deltas, for stores written without the Meter. */
  identity: StoreIdentity;
  counters: Counters;
  events: MeterEvents;
  now: () => number;
  /** The overflow sums, or undefined with `overflow: 'drop'`. */
  overflow: OverflowSums | undefined;
  closed(): boolean;
  /** Called after the store took a delta. */
  accepted(): void;
  /** Counts accepted deltas per customer once a balance gate asked for it. */
  usage: UsageTap;
}

/**
 * The Meter's front door: validates a delta, builds its referenceId, freezes its body and puts it
 * in the store; when the queue is full, hands it to a store that is the queue (a durable one keeps
 * it beyond memory) or folds it into its overflow sum; or refuses it with a typed error, counted
 * and reported. Never throws.
 *
 * @example
 * const intake = createIntake(context);
 * intake.accept({ customerId: 'acme', delta: -1, reason: 'api_request', requestId }, true);
 */
export interface Intake {
  /** `canFold`: a full queue folds the delta into its overflow sum, or leaves it to a store that is the queue (false for `emit()`, whose caller needs its own receipt and so this process to deliver it). */
  accept(input: DeltaInput, canFold: boolean): EnqueueResult;
  refuse(reason: DropReason, error: Error, input?: Partial<DeltaInput>, referenceId?: string): EnqueueResult;
  /** Queues overflow sums while the queue has room; `force` queues them all (a durable store at shutdown). */
  queueOverflow(force?: boolean): void;
  /** Validates and freezes a delta without queuing it; throws the typed error a refusal would carry. */
  prepare(input: DeltaInput): QueuedDelta;
  /** Counts a delta with nothing to bill (see `Meter.skip`); never throws. */
  skip(cause: SkipCause, input?: Partial<DeltaInput>): SkipAnswer;
}

/** A validated input: `fields` is what events report (no metadata), `body` the frozen JSON, `correction` whether it adjusts another delta. */
interface Frozen {
  fields: DeltaFields;
  body: string;
  bytes: number;
  correction: boolean;
}

/** Refusals that also go to `onError`. */
const REPORTED_AS_ERRORS: ReadonlySet<DropReason> = new Set(['invalid', 'too_large', 'store_failed']);

/** The customerId and delta of a refused input, for the report; a hostile input (throwing getters, a Proxy) yields neither. */
function readableFields(input: Partial<DeltaInput> | undefined): { customerId?: string; delta?: number } {
  try {
    const customerId = typeof input?.customerId === 'string' ? input.customerId : undefined;
    const delta = typeof input?.delta === 'number' ? input.delta : undefined;
    return { customerId, delta };
  } catch {
    return {};
  }
}

/** What freezing an input threw, as the validation error a refusal carries (hostile inputs throw anything). */
function asValidationError(err: unknown): DeltaValidationError {
  return err instanceof DeltaValidationError ? err : new DeltaValidationError('input', `could not be read: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** True when the input's delta is exactly 0 (nothing to bill); a hostile input is not. */
function zeroDelta(input: DeltaInput): boolean {
  try {
    return input !== null && typeof input === 'object' && input.delta === 0;
  } catch {
    return false;
  }
}

/** The referenceId a partial delta would have had, when its parts are there and valid. */
function wouldBeReferenceId(scope: string, input: Partial<DeltaInput> | undefined): string | undefined {
  try {
    if (typeof input?.referenceId === 'string') return input.referenceId;
    const { customerId, reason, requestId } = input ?? {};
    if (typeof customerId !== 'string' || typeof reason !== 'string' || typeof requestId !== 'string') return undefined;
    assertCustomerId(customerId);
    assertReason(reason);
    return buildReferenceId({ scope, operation: reason, customerId, requestId });
  } catch {
    return undefined;
  }
}

/** Generous size of an overflow sum's delta (ids, reason and its small metadata), to check for room before building it. */
const OVERFLOW_DELTA_BYTES = 2048;

/** Creates the intake of one Meter. */
export function createIntake(ctx: IntakeContext): Intake {
  const { config, store, counters, events } = ctx;
  let seq = 0;
  let overflowing = false;
  /** The store keeps deltas beyond the memory window: a full queue is never folded. */
  const storeIsQueue = typeof store.backlog === 'function';
  let queueFullError: DeltaDroppedError | undefined;
  let closedError: DeltaDroppedError | undefined;

  function refuse(reason: DropReason, error: Error, input?: Partial<DeltaInput>, referenceId?: string): EnqueueResult {
    counters.dropped[reason] = (counters.dropped[reason] ?? 0) + 1;
    const { customerId, delta } = readableFields(input);
    events.logger.warn({ reason, referenceId, customerId, err: error }, `pacspace-metering: delta refused (${reason})`);
    events.hook('onDrop', { reason, referenceId, customerId, delta, attempts: 0, error });
    // A problem with the delta or the store, not with the traffic: worth an error (a full queue is counted and logged).
    if (REPORTED_AS_ERRORS.has(reason)) events.error(error, { stage: 'intake', referenceId, customerId });
    return { accepted: false, reason, error, ...(referenceId ? { referenceId } : {}) };
  }

  /**
   * Validates the input and freezes its body; throws DeltaValidationError naming the field.
   * `fields` is what events report (no metadata); `bytes` the body's UTF-8 size.
   */
  function freeze(input: DeltaInput): Frozen {
    if (input === null || typeof input !== 'object') throw new DeltaValidationError('input', 'must be an object with customerId, delta and reason');
    const { customerId, delta, reason, metadata, adjusts } = input;
    assertCustomerId(customerId);
    // Exactly 0 is valid but has nothing to bill: `accept` answers it as skipped.
    if (delta !== 0) assertDelta(delta);
    assertReason(reason);
    assertMetadata(metadata);
    assertAdjusts(adjusts);
    let referenceId = input.referenceId;
    const built = referenceId === undefined;
    if (!built) assertReferenceId(referenceId);
    else {
      const requestId = input.requestId ?? randomUUID();
      if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 1024) {
        throw new DeltaValidationError('requestId', 'must be a non-empty string of at most 1024 characters');
      }
      referenceId = buildReferenceId({ scope: config.scope, operation: reason, customerId, requestId });
    }
    const fields: DeltaFields = { customerId, delta, reason, referenceId };
    const body = serializeDelta(metadata === undefined && adjusts === undefined ? fields : { customerId, delta, reason, referenceId, adjusts, metadata });
    // Measuring the body also flattens it into one string, so the slice below is cut from that.
    const bytes = Buffer.byteLength(body);
    // A built id: kept as a slice of the body (see referenceIdWithin), which lives as long anyway.
    if (built) fields.referenceId = referenceIdWithin(body, fields);
    return { fields, body, bytes, correction: adjusts !== undefined };
  }

  function tooLarge(bytes: number): DeltaDroppedError {
    return new DeltaDroppedError('too_large', `the delta is ${bytes} bytes; maxDeltaBytes is ${config.maxDeltaBytes}`);
  }

  function isFull(bytes: number): boolean {
    return store.count() >= config.maxQueueSize || store.bytes() + bytes > config.maxQueueBytes;
  }

  /**
   * Puts a frozen delta in the store: answers the refusal when the store would not take it,
   * `true` when it holds it (durably, with a durable store), or a promise of its durability from a
   * store that writes behind.
   */
  function add(fields: DeltaFields, body: string, bytes: number): EnqueueResult | Promise<boolean> | true {
    // The body is the frozen payload; `fields` (without metadata) is what events report.
    const item: QueuedDelta = new AcceptedDelta(++seq, fields.referenceId, fields.customerId, fields.delta, fields.reason, body, bytes, ctx.now());
    let written: void | Promise<void>;
    try {
      written = store.add(item);
    } catch (err) {
      // A store that cannot take the delta (disk full, closed) must not break the caller either.
      return refuse('store_failed', err instanceof Error ? err : new Error(String(err)), fields, item.referenceId);
    }
    ctx.accepted();
    return written === undefined ? true : written.then(() => true, (err: unknown) => notDurable(item, err));
  }

  /**
   * A store that writes behind could not make a delta durable: it is still delivered from memory,
   * but a crash would lose it; or, beyond the memory window (`notHeld`), it is lost, and dropped.
   */
  function notDurable(item: QueuedDelta, err: unknown): false {
    const error = err instanceof Error ? err : new Error(String(err));
    if ((error as { notHeld?: boolean }).notHeld === true) {
      refuse('store_failed', error, item.fields, item.referenceId);
      return false;
    }
    events.logger.error({ referenceId: item.referenceId, customerId: item.customerId, err: error }, 'pacspace-metering: the store could not make a delta durable; it is delivered from memory, but a crash would lose it');
    events.error(error, { stage: 'intake', referenceId: item.referenceId, customerId: item.customerId });
    return false;
  }

  /** Says once per episode that the queue is full, and what becomes of further deltas. */
  function sayFull(then: string): void {
    if (overflowing) return;
    overflowing = true;
    events.logger.warn({ maxQueueSize: config.maxQueueSize, maxQueueBytes: config.maxQueueBytes }, `pacspace-metering: the queue is full${then}`);
  }

  function fold(fields: DeltaFields): boolean {
    if (!ctx.overflow?.add(fields.customerId, fields.reason, fields.delta, ctx.now())) return false;
    const sum = ctx.usage.tracker && ctx.overflow.sumOf(fields.customerId, fields.reason);
    if (sum) ctx.usage.tracker!.add(sum.referenceId, fields.customerId, fields.delta, sum.firstAt);
    counters.accepted++;
    counters.folded++;
    sayFull('; further deltas are summed per (customer, reason) and billed as one delta each once there is room (per-request detail is not kept)');
    return true;
  }

  /**
   * The queue is full: undefined when the delta goes to the store all the same (a store that is
   * the queue keeps it beyond memory; said once per episode), else the answer (folded, or refused).
   */
  function whenFull(input: DeltaInput, fields: DeltaFields, canFold: boolean, correction: boolean): EnqueueResult | undefined {
    if (canFold && storeIsQueue) {
      sayFull(' in memory; further deltas wait, whole, in the durable store until there is room');
      return undefined;
    }
    // A correction names the delta it adjusts: summed with others, it would lose that.
    if (canFold && !correction && fold(fields)) return { accepted: true, referenceId: fields.referenceId, folded: true };
    // During an outage every request lands here: reuse one error rather than capture a stack each time.
    queueFullError ??= new DeltaDroppedError('queue_full', `the queue is full (maxQueueSize ${config.maxQueueSize}, maxQueueBytes ${config.maxQueueBytes})`);
    return refuse('queue_full', queueFullError, input, fields.referenceId);
  }

  function skip(cause: SkipCause, input?: Partial<DeltaInput>, known?: string): SkipAnswer {
    counters.skipped[cause] = (counters.skipped[cause] ?? 0) + 1;
    const referenceId = known ?? wouldBeReferenceId(config.scope, input);
    const { customerId } = readableFields(input);
    let reason: unknown;
    try {
      reason = input?.reason;
    } catch {
      // a hostile input: the log goes without it
    }
    events.logger.debug({ cause, customerId, reason, referenceId }, `pacspace-metering: nothing to bill (${cause}); not queued, not a drop`);
    return referenceId === undefined ? { accepted: true, skipped: cause } : { accepted: true, skipped: cause, referenceId };
  }

  function accept(input: DeltaInput, canFold: boolean): EnqueueResult {
    // Nothing to bill is never a drop, not even once the meter is closed.
    if (ctx.closed() && !zeroDelta(input)) {
      closedError ??= new DeltaDroppedError('closed', 'the meter is closed; the delta was not accepted');
      return refuse('closed', closedError, input);
    }
    let frozen: Frozen;
    try {
      frozen = freeze(input);
    } catch (err) {
      // Hostile input (a throwing getter or toJSON, a Proxy) must not escape into the caller either.
      return refuse('invalid', asValidationError(err), input);
    }
    const { fields, body, bytes } = frozen;
    if (fields.delta === 0) return skip('zero_delta', fields, fields.referenceId) as SkippedDelta;
    if (bytes > config.maxDeltaBytes) {
      return refuse('too_large', tooLarge(bytes), input, fields.referenceId);
    }
    if (isFull(bytes)) {
      const answer = whenFull(input, fields, canFold, frozen.correction);
      if (answer) return answer;
    } else if (storeIsQueue) overflowing = false;
    const added = add(fields, body, bytes);
    if (added !== true && !(added instanceof Promise)) return added;
    counters.accepted++;
    ctx.usage.tracker?.add(fields.referenceId, fields.customerId, fields.delta, ctx.now());
    // With a logger of the caller's (debug level), each delta that will be billed is shown.
    if (events.logs) events.logger.debug({ customerId: fields.customerId, reason: fields.reason, delta: fields.delta, referenceId: fields.referenceId }, 'pacspace-metering: delta accepted');
    return added === true ? { accepted: true, referenceId: fields.referenceId } : { accepted: true, referenceId: fields.referenceId, committed: added };
  }

  function queueSum(sum: OverflowSum): void {
    const delta = totalOf(sum);
    if (delta === 0) {
      ctx.usage.tracker?.settle(sum.referenceId);
      return; // the deltas netted out: nothing to bill
    }
    const metadata = { overflow: { deltas: sum.deltas, firstAcceptedAt: new Date(sum.firstAt).toISOString(), lastAcceptedAt: new Date(sum.lastAt).toISOString() } };
    const fields: DeltaFields = { customerId: sum.customerId, delta, reason: sum.reason, referenceId: sum.referenceId };
    const body = serializeDelta({ ...fields, metadata });
    add(fields, body, Buffer.byteLength(body));
  }

  function queueOverflow(force = false): void {
    const { overflow } = ctx;
    if (!overflow || overflow.size === 0) return;
    while (overflow.size > 0 && (force || !isFull(OVERFLOW_DELTA_BYTES))) queueSum(overflow.take()!);
    if (overflow.size === 0 && overflowing) {
      overflowing = false;
      events.logger.info({}, 'pacspace-metering: every overflow sum is queued');
    }
  }

  function prepare(input: DeltaInput): QueuedDelta {
    let frozen: Frozen;
    try {
      frozen = freeze(input);
    } catch (err) {
      throw asValidationError(err);
    }
    const { fields, body, bytes } = frozen;
    if (fields.delta === 0) throw new DeltaValidationError('delta', 'is 0: nothing to bill, so nothing to prepare (enqueue answers it as skipped)');
    if (bytes > config.maxDeltaBytes) throw tooLarge(bytes);
    const prepared: QueuedDelta = new AcceptedDelta(0, fields.referenceId, fields.customerId, fields.delta, fields.reason, body, bytes, ctx.now());
    prepared.owner = ctx.identity;
    return prepared;
  }

  return { accept, refuse, queueOverflow, prepare, skip };
}
