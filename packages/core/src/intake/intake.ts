import { AcceptedDelta } from './accepted-delta.js';
import { readableFields, refuseDelta } from '../reporting/drop-report.js';
import { DeltaDroppedError, DeltaValidationError } from '../errors.js';
import type { DropReason } from '../reporting/events.js';
import { asValidationError, freezeDelta, type Frozen } from './freeze-delta.js';
import type { DeltaInput, EnqueueResult, SkipAnswer, SkippedDelta } from '../meter-api.js';
import type { SkipCause } from './nothing-to-bill.js';
import { QueueFull, type QueueFullContext } from './queue-full.js';
import { QueueWriter } from './queue-writer.js';
import { buildReferenceId } from './reference-id.js';
import type { QueuedDelta, StoreIdentity } from '../store/store.js';
import { assertCustomerId, assertReason } from './validation.js';

/** What {@link createIntake} needs from the Meter. */
export interface IntakeContext extends QueueFullContext {
  /** Who the Meter is: set on prepared deltas, for stores written without the Meter. */
  identity: StoreIdentity;
  closed(): boolean;
  /** Called after the store took a delta. */
  accepted(): void;
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

/**
 * Creates the intake of one Meter: freezing ({@link freezeDelta}), writing to the store
 * ({@link QueueWriter}), the full queue's rules ({@link QueueFull}) and refusals
 * ({@link refuseDelta}) each live in their own file; this is the order they apply in.
 *
 * @example
 * const intake = createIntake({ config, store, identity, counters, events, now, overflow, usage, closed: () => false, accepted: () => loop.accepted() });
 */
export function createIntake(ctx: IntakeContext): Intake {
  const { config, counters, events } = ctx;
  const writer = new QueueWriter(ctx.store, counters, events, ctx.now, ctx.accepted);
  const full = new QueueFull(ctx, writer);
  let closedError: DeltaDroppedError | undefined;
  const refuse = (reason: DropReason, error: Error, input?: Partial<DeltaInput>, referenceId?: string): EnqueueResult => refuseDelta(counters, events, reason, error, input, referenceId);

  function tooLarge(bytes: number): DeltaDroppedError {
    return new DeltaDroppedError('too_large', `the delta is ${bytes} bytes; maxDeltaBytes is ${config.maxDeltaBytes}`);
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
      frozen = freezeDelta(input, config.scope);
    } catch (err) {
      // Hostile input (a throwing getter or toJSON, a Proxy) must not escape into the caller either.
      return refuse('invalid', asValidationError(err), input);
    }
    const { fields, body, bytes } = frozen;
    if (fields.delta === 0) return skip('zero_delta', fields, fields.referenceId) as SkippedDelta;
    if (bytes > config.maxDeltaBytes) {
      return refuse('too_large', tooLarge(bytes), input, fields.referenceId);
    }
    if (full.isFull(bytes)) {
      const answer = full.whenFull(input, fields, canFold, frozen.correction);
      if (answer) return answer;
    } else full.hadRoom();
    const added = writer.add(fields, body, bytes);
    if (added !== true && !(added instanceof Promise)) return added;
    counters.accepted++;
    ctx.usage.tracker?.add(fields.referenceId, fields.customerId, fields.delta, ctx.now());
    // With a logger of the caller's (debug level), each delta that will be billed is shown.
    if (events.logs) events.logger.debug({ customerId: fields.customerId, reason: fields.reason, delta: fields.delta, referenceId: fields.referenceId }, 'pacspace-metering: delta accepted');
    return added === true ? { accepted: true, referenceId: fields.referenceId } : { accepted: true, referenceId: fields.referenceId, committed: added };
  }

  function prepare(input: DeltaInput): QueuedDelta {
    let frozen: Frozen;
    try {
      frozen = freezeDelta(input, config.scope);
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

  return { accept, refuse, queueOverflow: (force) => full.queueOverflow(force), prepare, skip };
}
