import { DeltaValidationError } from '../errors.js';
import type { DeltaInput, EnqueueResult, Meter, SkipAnswer } from '../meter-api.js';
import { NOTHING_TO_BILL, skipCauseOf, type NothingToBill, type SkipCause } from '../intake/nothing-to-bill.js';

/**
 * One of several deltas billed for one call (input and output tokens, pages and seconds): each is
 * billed once under its own referenceId, `{scope}:{reason}:{customerId}:{requestId}`, so the
 * reasons of one call must differ. `delta` of exactly 0 or {@link NOTHING_TO_BILL}: nothing to
 * bill for that reason (counted in `stats().skipped`).
 *
 * @example
 * const deltas: UsageDelta[] = [
 *   { reason: 'input_tokens', delta: -120 },
 *   { reason: 'output_tokens', delta: cached ? NOTHING_TO_BILL : -480, metadata: { model: 'small' } },
 * ];
 */
export interface UsageDelta {
  /** The reason: 1-500 characters, distinct within one call. */
  reason: string;
  /** Balance change (negative consumes), 0 or `NOTHING_TO_BILL` for nothing to bill. */
  delta: number | NothingToBill;
  /** Metadata of this delta, merged over the call's. */
  metadata?: Record<string, unknown> | undefined;
}

/**
 * What {@link enqueueUsage} needs: who pays, the call's id (each delta's referenceId is built from
 * it), the deltas, and metadata common to all of them.
 *
 * @example
 * const call: UsageCall = { customerId: 'acme', requestId: 'req-42', deltas: [{ reason: 'pages', delta: -3 }] };
 */
export interface UsageCall {
  customerId: string;
  requestId: string;
  /** The deltas, or `NOTHING_TO_BILL` for none (also: an empty list). */
  deltas: readonly UsageDelta[] | NothingToBill;
  /** Metadata every delta carries (each delta's own fields win). */
  metadata?: Record<string, unknown> | undefined;
}

/**
 * The field of a list of deltas that is wrong, or undefined when it is a usable list: an array of
 * objects whose reasons are strings, each reason once.
 */
export function deltasProblem(deltas: unknown, field = 'deltas'): DeltaValidationError | undefined {
  if (!Array.isArray(deltas)) return new DeltaValidationError(field, 'must be an array of { reason, delta, metadata? } (or NOTHING_TO_BILL)');
  // A call has a few reasons: comparing them pairwise allocates nothing; a long list gets a Set.
  const seen = deltas.length > 16 ? new Set<string>() : undefined;
  for (let i = 0; i < deltas.length; i++) {
    const item: unknown = deltas[i];
    if (item === null || typeof item !== 'object') return new DeltaValidationError(`${field}[${i}]`, 'must be an object { reason, delta, metadata? }');
    const reason = (item as UsageDelta).reason;
    if (typeof reason !== 'string') return new DeltaValidationError(`${field}[${i}].reason`, 'must be a string');
    if (seen === undefined ? repeatsBefore(deltas as UsageDelta[], i, reason) : seen.has(reason)) {
      return new DeltaValidationError(`${field}[${i}].reason`, `'${reason}' is repeated: each reason is billed once per call, under its own referenceId; sum its amounts into one delta`);
    }
    seen?.add(reason);
  }
  return undefined;
}

function repeatsBefore(deltas: readonly UsageDelta[], i: number, reason: string): boolean {
  for (let j = 0; j < i; j++) if (deltas[j]!.reason === reason) return true;
  return false;
}

/**
 * Bills several deltas of one call, each once, under referenceIds built from the same request id.
 * A list the meter cannot use (not an array, a repeated reason) is refused as a whole, naming the
 * field (counted in `stats().dropped.invalid`); a delta of 0 or `NOTHING_TO_BILL` is skipped
 * (`stats().skipped`); each other delta is enqueued (validated by the meter). Never throws.
 *
 * @returns one answer per delta, in order (one refusal when the list itself was refused; none for
 *   `NOTHING_TO_BILL`).
 *
 * @example
 * enqueueUsage(meter, {
 *   customerId: 'acme',
 *   requestId: 'req-42',
 *   deltas: [{ reason: 'input_tokens', delta: -120 }, { reason: 'output_tokens', delta: -480 }],
 * });
 */
export function enqueueUsage(meter: Meter, call: UsageCall): Array<EnqueueResult | SkipAnswer> {
  const results: Array<EnqueueResult | SkipAnswer> = [];
  try {
    if (call.deltas === NOTHING_TO_BILL) {
      skipped(meter, 'nothing_to_bill', { customerId: call.customerId, requestId: call.requestId });
      return results;
    }
    const problem = deltasProblem(call.deltas);
    if (problem) throw problem;
    const list = call.deltas;
    // One loop, no intermediate arrays: this runs for every metered call with several deltas.
    for (let i = 0; i < list.length; i++) {
      const input = usageInput(call, list[i]!);
      // A delta of 0 goes to the meter, which answers it as skipped with its would-be referenceId.
      results.push(list[i]!.delta === NOTHING_TO_BILL ? skipped(meter, 'nothing_to_bill', input) : meter.enqueue(input));
    }
  } catch (err) {
    // A hostile list (a throwing getter, a Proxy): refused, counted and reported.
    const error = err instanceof Error ? err : new DeltaValidationError('deltas', String(err));
    results.push(meter.refuse(error, { customerId: call?.customerId, requestId: call?.requestId }));
  }
  return results;
}

/** One delta of a call as a meter input: the call's customer and request id, metadata merged. */
function usageInput(call: UsageCall, item: UsageDelta): DeltaInput {
  const input: DeltaInput = { customerId: call.customerId, reason: item.reason, delta: item.delta as number, requestId: call.requestId };
  const metadata = item.metadata === undefined ? call.metadata : call.metadata === undefined ? item.metadata : { ...call.metadata, ...item.metadata };
  if (metadata !== undefined) input.metadata = metadata;
  return input;
}

/**
 * The deltas of a call as meter inputs, for a caller that sends them itself (`emit`): each with
 * the call's customer, request id and merged metadata. Throws the {@link DeltaValidationError} of
 * a list that cannot be used (see {@link enqueueUsage}).
 *
 * @example
 * const inputs = usageInputs({ customerId: 'acme', requestId: 'job-7', deltas: [{ reason: 'pages', delta: -3 }] });
 */
export function usageInputs(call: UsageCall): Array<{ input: DeltaInput; skip?: SkipCause }> {
  if (skipCauseOf(call.deltas) !== undefined) return [];
  const problem = deltasProblem(call.deltas);
  if (problem) throw problem;
  return (call.deltas as readonly UsageDelta[]).map((item) => {
    const input = usageInput(call, item);
    const cause = skipCauseOf(item.delta);
    return cause === undefined ? { input } : { input, skip: cause };
  });
}

/**
 * Counts a delta with nothing to bill through `meter.skip`, also on a Meter made by hand without
 * it (then only the answer is given). Never throws.
 *
 * @example
 * skipped(meter, 'nothing_to_bill', { customerId: 'acme', reason: 'completion', requestId: 'req-42' });
 */
export function skipped(meter: Meter, cause: SkipCause, input?: Partial<DeltaInput>): SkipAnswer {
  try {
    return meter.skip?.(cause, input) ?? { accepted: true, skipped: cause };
  } catch {
    return { accepted: true, skipped: cause };
  }
}
