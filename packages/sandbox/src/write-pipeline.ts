import { setTimeout as sleep } from 'node:timers/promises';
import { fingerprint } from './canonical.js';
import { errorReply, pendingReply, reply, successBody, type Drop, type Reply, type Success } from './envelope.js';
import type { FaultDecision } from './faults.js';
import type { SandboxState } from './state.js';

/** The part of a write that depends on the endpoint: validate, then commit. */
export type WriteOperation = (body: Record<string, unknown>, idempotencyKey: string | null, decision: FaultDecision) => Success | Reply;

const SERVER_ERROR_CODES: Record<number, string> = {
  500: 'INTERNAL_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

/**
 * Runs one parsed write request in a fixed order:
 * decide faults -> admit the Idempotency-Key (reserving a new one) -> answer a pending/conflict/
 * replay at once -> latency -> serverError -> rateLimit -> cadenceLimit -> reset -> operation ->
 * store the 2xx for replay -> commitThenDrop. Answers from the idempotency store skip latency and
 * the other faults: they are cheap lookups, and a client that timed out on a slow first attempt
 * must be able to see its 202 and, later, its replay.
 */
export async function runWrite(
  state: SandboxState,
  endpoint: string,
  body: Record<string, unknown>,
  idempotencyKey: string | null,
  operation: WriteOperation,
  loggedCustomerId: string | undefined,
): Promise<Reply | Drop> {
  const decision = state.faults.decide();
  const admission = idempotencyKey === null ? null : state.idempotency.admit(endpoint, idempotencyKey, fingerprint(body));
  if (admission?.kind === 'pending') return { ...pendingReply(), customerId: loggedCustomerId };
  if (admission?.kind === 'conflict') {
    return {
      ...errorReply(409, 'IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was already used with a different request body.', 'conflict'),
      customerId: loggedCustomerId,
    };
  }
  if (admission?.kind === 'replay') {
    return { status: admission.status, body: admission.body, headers: { 'idempotent-replayed': 'true' }, outcome: 'replayed', customerId: loggedCustomerId };
  }

  // The key is already reserved, so a duplicate arriving during this wait gets 202.
  if (decision.latencyMs > 0) await sleep(decision.latencyMs, undefined, { ref: false });
  const entry = admission?.entry;
  const release = (): void => {
    if (entry && idempotencyKey !== null) state.idempotency.release(endpoint, idempotencyKey, entry);
  };
  const fault = faultAnswer(decision, endpoint, loggedCustomerId);
  if (fault) {
    release();
    return fault;
  }

  const result = operation(body, idempotencyKey, decision);
  if (!('data' in result)) {
    release();
    return result;
  }
  if (entry && idempotencyKey !== null) {
    state.idempotency.complete(endpoint, idempotencyKey, entry, result.status, successBody(result.status, { ...result.data, idempotent: true }));
  }
  if (decision.commitDrop) return { drop: 'close', outcome: 'fault:commit-drop', customerId: result.customerId ?? loggedCustomerId };
  return reply(result);
}

/** The answer of a fault that fires before processing, if any. */
function faultAnswer(decision: FaultDecision, endpoint: string, customerId: string | undefined): Reply | Drop | undefined {
  const { serverError, rateLimit, cadenceLimit } = decision;
  if (serverError) {
    const code = SERVER_ERROR_CODES[serverError.status] ?? 'SERVER_ERROR';
    const details = serverError.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: serverError.retryAfterSeconds };
    return { ...errorReply(serverError.status, code, `Injected server error (${serverError.status}).`, 'fault:server-error', details), customerId };
  }
  if (rateLimit) {
    return { ...errorReply(429, 'RATE_LIMITED', 'Too many requests.', 'fault:rate-limit', { retryAfterSeconds: rateLimit.retryAfterSeconds }), customerId };
  }
  // Batches apply the cadence limit per item (see emitBatch); single deltas get a 429.
  if (cadenceLimit && endpoint === 'delta' && customerId === cadenceLimit.customerId) {
    return {
      ...errorReply(429, 'CADENCE_LIMIT', 'Submission cadence limit reached for this customer.', 'fault:cadence-limit', {
        retryAfterSeconds: cadenceLimit.retryAfterSeconds,
        customerId,
      }),
      customerId,
    };
  }
  if (decision.reset) return { drop: 'reset', outcome: 'fault:reset', customerId };
  return undefined;
}
