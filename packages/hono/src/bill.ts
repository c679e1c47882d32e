import { DeltaValidationError, NOTHING_TO_BILL, claimKey, claimOnce, customerIdOf, skipped as skippedDelta, thenableError, type DeltaInput, type Meter } from '@pacspace-metering/core';
import { enqueueDeltas } from './bill-deltas.js';
import type { AdapterConfig } from './options.js';
import type { RequestState } from './request-state.js';

/** A resolver that threw or returned a Promise: the delta is refused with this error. */
class Refusal {
  constructor(readonly error: DeltaValidationError) {}
}

/** What the adapter knows about a delivered response besides the resolvers' arguments. */
export interface Delivered {
  requestId: string;
  state: RequestState;
  /** The library's own metadata: the route pattern (Hono) and the method. */
  base: { route?: string; method: string };
}

/**
 * Calls `fn(...args)`; a throw, or a Promise returned (its rejection handled), becomes a
 * {@link Refusal} naming `option`, so a thrown string can never pass for a customer id.
 */
function resolve(option: string, fn: (...args: never[]) => unknown, args: unknown[]): unknown {
  let value: unknown;
  try {
    value = (fn as (...a: unknown[]) => unknown)(...args);
  } catch (cause) {
    return new Refusal(new DeltaValidationError(option, `the ${option} resolver threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause }));
  }
  const refused = thenableError(value, option);
  return refused === undefined ? value : new Refusal(refused);
}

/**
 * Whether a delivered response is billed: `isSuccess(...args)`, or `defaultSuccess` without one.
 * An `isSuccess` that throws or returns a Promise answers no, and is reported (refused as invalid,
 * naming it).
 */
export function succeeded(meter: Meter, config: AdapterConfig, args: unknown[], defaultSuccess: boolean): boolean {
  if (config.isSuccess === undefined) return defaultSuccess;
  const answer = resolve('isSuccess', config.isSuccess, args);
  if (answer instanceof Refusal) meter.refuse(answer.error);
  return answer === true;
}

/**
 * Whether `skip(...args)` leaves the request unmetered. One that throws or returns a Promise
 * leaves it unmetered too, reported (refused as invalid, naming `skip`).
 */
export function skipped(meter: Meter, config: AdapterConfig, args: unknown[]): boolean {
  if (config.skip === undefined) return false;
  const answer = resolve('skip', config.skip, args);
  if (answer instanceof Refusal) meter.refuse(answer.error);
  return answer !== false;
}

/**
 * Bills one delivered, successful response: resolves the fields, claims the request for this
 * (scope, reason, customer) so a second adapter or meter does not bill it again, and enqueues.
 * Answers the store's promise of durability, if any. Never throws: a field that cannot be had is
 * refused through the meter (counted, `onDrop`, `onError`), with what was resolved before it.
 */
export function bill(meter: Meter, config: AdapterConfig, args: unknown[], delivered: Delivered): Promise<boolean> | undefined {
  const input: Partial<Record<keyof DeltaInput, unknown>> = { requestId: delivered.requestId };
  try {
    input.customerId = customerIdOf(resolve('customerId', config.customerId, args));
    if (config.deltas !== undefined) input.delta = resolve('deltas', config.deltas, args);
    else input.delta = typeof config.delta === 'number' ? config.delta : resolve('delta', config.delta, args);
    input.reason = typeof config.reason === 'string' ? config.reason : resolve('reason', config.reason, args);
    input.metadata = withBase(delivered.base, config.metadata === undefined ? undefined : resolve('metadata', config.metadata, args));
  } catch (cause) {
    // Only hostile values get here (a metadata Proxy whose traps throw).
    input.metadata = new Refusal(new DeltaValidationError('metadata', `the metadata option threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause }));
  }
  const failed = [input.customerId, input.delta, input.reason, input.metadata].find((value) => value instanceof Refusal) as Refusal | undefined;
  if (failed !== undefined) {
    meter.refuse(failed.error, definedFields(input));
    return undefined;
  }
  // The handler's data said there is nothing to bill: counted apart from drops.
  if (input.customerId === NOTHING_TO_BILL || input.delta === NOTHING_TO_BILL) {
    skippedDelta(meter, 'nothing_to_bill', definedFields(input));
    return undefined;
  }
  if (config.deltas !== undefined) return enqueueDeltas(meter, input, delivered.state);
  const { customerId, reason } = input;
  if (typeof customerId === 'string' && typeof reason === 'string' && !claimOnce(delivered.state, claimKey(meter.scope, reason, customerId))) return undefined;
  // The requestId resolver failed for this request: the random id it fell back to must not be billed.
  if (delivered.state.idFailure !== undefined) {
    meter.refuse(delivered.state.idFailure, input as Partial<DeltaInput>);
    return undefined;
  }
  const result = meter.enqueue(input as DeltaInput);
  return result.accepted ? result.committed : undefined;
}

/**
 * The library's metadata with the caller's merged over it. Anything that is not a plain object (or
 * nothing) is passed through unchanged, so the meter refuses it naming `metadata`.
 */
function withBase(base: Delivered['base'], extra: unknown): unknown {
  if (extra === undefined || extra === null) return base;
  if (typeof extra !== 'object' || extra instanceof Refusal) return extra;
  const proto = Object.getPrototypeOf(extra) as unknown;
  return proto === Object.prototype || proto === null ? { ...base, ...extra } : extra;
}

/** The fields that were resolved, for the refusal's report. */
function definedFields(input: Partial<Record<keyof DeltaInput, unknown>>): Partial<DeltaInput> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) if (value !== undefined && !(value instanceof Refusal)) fields[key] = value;
  return fields as Partial<DeltaInput>;
}
