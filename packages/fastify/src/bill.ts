import { DeltaValidationError, NOTHING_TO_BILL, claimKey, claimOnce, customerIdOf, deltasProblem, enqueueUsage, skipped, thenableError, type DeltaInput, type Meter, type UsageDelta } from '@pacspace-metering/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MeteringState } from './request-state.js';
import type { Resolver, RouteSettings } from './settings.js';

/**
 * Stands in for the value of a resolver that threw or returned a Promise, with the error that
 * refuses the delta: a value of its own class, so nothing a resolver returns can pass for it.
 */
class Refusal {
  constructor(readonly error: DeltaValidationError) {}
}

/**
 * Bills one finished request, if it succeeded: resolves the route's fields, claims the request
 * for (reason, customer) so a second registration or `meterNow` does not bill it again, and
 * enqueues the delta under `requestId`. A resolver that throws or returns a Promise, and a request
 * whose `requestId` resolver failed, are refused through the meter (counted in
 * `stats().dropped.invalid`, `onDrop`, `onError`). Returns the store's promise of durability
 * (a store that writes behind), if any. Never throws.
 */
export function bill(
  meter: Meter,
  route: RouteSettings,
  request: FastifyRequest,
  reply: FastifyReply,
  pattern: string | undefined,
  requestId: string,
  state: MeteringState,
): Promise<boolean> | undefined {
  if (route.isSuccess === undefined ? reply.raw.statusCode >= 400 : decide(meter, 'isSuccess', route.isSuccess, request, reply) !== true) return undefined;
  const customerId = customerIdOf(resolve('customerId', route.customerId, request, reply));
  const delta = route.deltas !== undefined ? resolve('deltas', route.deltas, request, reply) : typeof route.delta === 'number' ? route.delta : resolve('delta', route.delta, request, reply);
  const reason = typeof route.reason === 'string' ? route.reason : resolve('reason', route.reason, request, reply);
  const extra = route.metadata === undefined ? undefined : resolve('metadata', route.metadata, request, reply);
  const metadata = extra instanceof Refusal ? extra : metadataOf(pattern, request.method, extra);
  const input = { customerId, delta, reason, requestId, metadata } as DeltaInput;
  const refused = firstRefusal(customerId, delta, reason, metadata);
  if (refused !== undefined) {
    meter.refuse(refused.error, input);
    return undefined;
  }
  // The handler's data said there is nothing to bill: counted apart from drops.
  if (customerId === NOTHING_TO_BILL || delta === NOTHING_TO_BILL) return void skipped(meter, 'nothing_to_bill', { requestId });
  if (route.deltas !== undefined) return billDeltas(meter, input, state);
  if (typeof customerId === 'string' && typeof reason === 'string' && !claimOnce(state, claimKey(meter.scope, reason, customerId))) return undefined;
  if (state.failure !== undefined) {
    meter.refuse(state.failure, input);
    return undefined;
  }
  const result = meter.enqueue(input);
  // A store that writes behind says when the delta is durable; the response waits for it.
  return result.accepted ? result.committed : undefined;
}

/**
 * Bills the several deltas of one request (`input.delta` holds the resolved list): a list that
 * cannot be used is refused naming the field; each reason is claimed once for this request, then
 * enqueued under a referenceId from the request id. Answers the store's promise of durability.
 */
function billDeltas(meter: Meter, input: DeltaInput, state: MeteringState): Promise<boolean> | undefined {
  const { customerId, requestId } = input;
  const problem = deltasProblem(input.delta);
  if (problem !== undefined) return void meter.refuse(problem, { customerId, requestId });
  if (state.failure !== undefined) return void meter.refuse(state.failure, { customerId, requestId });
  const all = input.delta as unknown as UsageDelta[];
  const fresh = typeof customerId === 'string' ? all.filter((d) => claimOnce(state, claimKey(meter.scope, d.reason, customerId))) : all;
  const results = enqueueUsage(meter, { customerId, requestId: requestId!, deltas: fresh, metadata: input.metadata });
  const committed = results.map((r) => (r as { committed?: Promise<boolean> }).committed).filter((c) => c !== undefined);
  return committed.length === 0 ? undefined : Promise.all(committed).then((answers) => answers.every(Boolean));
}

/**
 * The answer of a yes/no option (`skip`, `isSuccess`), or `undefined` when it threw or returned a
 * Promise: then the meter refuses it as `invalid`, naming the option (counted, `onDrop`, `onError`).
 */
export function decide(meter: Meter, option: string, fn: Resolver, request: FastifyRequest, reply: FastifyReply | undefined): boolean | undefined {
  const answer = resolve(option, fn, request, reply);
  if (!(answer instanceof Refusal)) return !!answer;
  meter.refuse(answer.error);
  return undefined;
}

/**
 * The delta's metadata: the library's `route` (the pattern; absent when no route matched) and
 * `method`, with the caller's own fields merged over them. Anything that is not a plain object is
 * passed through unchanged, so the meter refuses it naming `metadata`; one whose fields cannot be
 * read (a Proxy whose traps throw) is refused here.
 */
export function metadataOf(pattern: string | undefined, method: string, extra: unknown): unknown {
  if (extra === undefined || extra === null) return pattern === undefined ? { method } : { route: pattern, method };
  if (typeof extra !== 'object') return extra;
  try {
    const proto = Object.getPrototypeOf(extra) as unknown;
    if (proto !== Object.prototype && proto !== null) return extra;
    return pattern === undefined ? { method, ...extra } : { route: pattern, method, ...extra };
  } catch (cause) {
    return new Refusal(new DeltaValidationError('metadata', `the metadata option returned an object that could not be read: ${messageOf(cause)}`, { cause }));
  }
}

/** Calls a resolver; a throw, or a Promise returned (whose rejection is then handled), becomes a {@link Refusal}. */
function resolve(option: string, fn: Resolver, request: FastifyRequest, reply: FastifyReply | undefined): unknown {
  let value: unknown;
  try {
    value = fn(request, reply);
  } catch (cause) {
    return new Refusal(new DeltaValidationError(option, `the ${option} resolver threw: ${messageOf(cause)}`, { cause }));
  }
  const thenable = thenableError(value, option);
  return thenable === undefined ? value : new Refusal(thenable);
}

/** The first field a resolver failed to give (checked one by one: no array per request). */
function firstRefusal(customerId: unknown, delta: unknown, reason: unknown, metadata: unknown): Refusal | undefined {
  if (customerId instanceof Refusal) return customerId;
  if (delta instanceof Refusal) return delta;
  if (reason instanceof Refusal) return reason;
  return metadata instanceof Refusal ? metadata : undefined;
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
