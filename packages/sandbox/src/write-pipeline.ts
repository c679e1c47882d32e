import { setTimeout as sleep } from 'node:timers/promises';
import { fingerprint } from './canonical.js';
import { errorReply, pendingReply, reply, successBody, type Drop, type Reply, type Success } from './envelope.js';
import type { FaultDecision } from './fault-plan.js';
import { MAX_BATCH } from './balance.js';
import { isPlainObject } from './config-error.js';
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
 * replay at once -> latency -> serverError -> rateLimit -> cadenceLimit -> batchRejection -> reset -> operation ->
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
  const batch = endpoint === 'delta/batch';
  const decision = state.faults.decide(batch ? batchSize(body) : endpoint === 'delta' ? 1 : 0, batch);
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
  const fault = faultAnswer(decision, endpoint, body, loggedCustomerId);
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
  if (decision.commitDrop) return { drop: 'close', outcome: 'fault:commit-drop', customerId: result.customerId ?? loggedCustomerId, items: result.items, links: result.links };
  return reply(result);
}

/** The answer of a fault that fires before processing, if any. */
function faultAnswer(decision: FaultDecision, endpoint: string, body: Record<string, unknown>, customerId: string | undefined): Reply | Drop | undefined {
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
  if (decision.batchRejection) {
    const field = rejectedField(decision.batchRejection.customerIds, endpoint, body);
    if (field !== undefined) return { ...rejectionReply(decision.batchRejection.status, field), customerId };
  }
  if (decision.reset) return { drop: 'reset', outcome: 'fault:reset', customerId };
  return undefined;
}

/** Items a batch body holds, for the per-item fault draws (0 when it cannot be a valid batch). */
function batchSize(body: Record<string, unknown>): number {
  const items = body.deltas;
  return Array.isArray(items) && items.length <= MAX_BATCH ? items.length : 0;
}

/** The field naming the first delta for a refused customer, if the request has one. */
function rejectedField(customerIds: ReadonlySet<string>, endpoint: string, body: Record<string, unknown>): string | undefined {
  const refused = (item: unknown): boolean => isPlainObject(item) && typeof item.customerId === 'string' && customerIds.has(item.customerId);
  if (endpoint === 'delta') return refused(body) ? 'customerId' : undefined;
  if (endpoint !== 'delta/batch' || !Array.isArray(body.deltas)) return undefined;
  const index = body.deltas.findIndex(refused);
  return index === -1 ? undefined : `deltas[${index}].customerId`;
}

const REJECTION_CODES = { 400: 'VALIDATION_ERROR', 403: 'FORBIDDEN', 422: 'UNPROCESSABLE_ENTITY' } as const;

function rejectionReply(status: 400 | 403 | 422, field: string): Reply {
  const message = `${field} names a customer this server refuses (injected batchRejection); nothing in the request was committed.`;
  return errorReply(status, REJECTION_CODES[status], message, 'fault:batch-rejection', { field });
}
