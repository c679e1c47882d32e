import type { FrozenBatch } from './batch.js';
import { verdictFromAnswer, verdictFromError, type BatchVerdict } from './batch-verdict.js';
import { classifyAnswer, classifyResult } from './classify.js';
import type { BalanceClient, BatchDelta, PacSpaceClient } from '../client/client.js';
import { DeadlineQueue } from './deadline-queue.js';
import { withDeadline } from './deadline.js';
import type { DeltaFields } from '../intake/validation.js';

/** The single-delta endpoint. */
export const DELTA_PATH = '/api/v1/balance/delta';
/** The batch endpoint. */
export const BATCH_PATH = '/api/v1/balance/delta/batch';

/**
 * Sends batches and says what each answer means for its batch.
 *
 * @example
 * const sender = createBatchSender(client, builtIn, 10_000);
 * const verdict = await sender.send(batch);
 */
export interface BatchSender {
  /** Sends one batch. Never rejects: every failure becomes a {@link BatchVerdict}. */
  send(batch: FrozenBatch): Promise<BatchVerdict>;
  /** Gives up on the SDK-shaped client's attempts under way (they end as timed out); the built-in client's sockets are closed by its owner. */
  abandon(): void;
}

/**
 * The built-in client sends the frozen body bytes as they are (`post`). An SDK-shaped client gets
 * the frozen fields parsed back from the body: `balance.emitBatch(deltas, { idempotencyKey })` for
 * a batch, `balance.emit(customerId, delta, reason, { referenceId, idempotencyKey, metadata })`
 * for a single delta, each under one deadline of `attemptTimeoutMs` (the SDK's own timeouts are
 * not ours to see).
 *
 * @example
 * const sender = createBatchSender(client, isBuiltInClient(client) ? client : undefined, config.attemptTimeoutMs);
 */
export function createBatchSender(client: BalanceClient, builtIn: PacSpaceClient | undefined, attemptTimeoutMs: number): BatchSender {
  /** One timer for every SDK attempt's deadline (the built-in client keeps its own per socket). */
  let deadlines: DeadlineQueue | undefined;

  async function sendOnce(batch: FrozenBatch): Promise<BatchVerdict> {
    const single = batch.mode === 'single';
    if (builtIn) {
      const answer = await builtIn.post(single ? DELTA_PATH : BATCH_PATH, batch.body, batch.key, attemptTimeoutMs);
      // The single endpoint's receipt, or a 202 in progress on either endpoint.
      if (single || answer.pending) return verdictFromAnswer(batch, classifyAnswer(answer), undefined, answer.status);
      return verdictFromAnswer(batch, undefined, answer.replayed ? { ...answer.data, idempotent: true } : answer.data, answer.status);
    }
    if (single) {
      const frozen = JSON.parse(batch.body) as DeltaFields;
      const result = await withDeadline(
        () => client.balance.emit(frozen.customerId, frozen.delta, frozen.reason, { referenceId: frozen.referenceId, idempotencyKey: batch.key, metadata: frozen.metadata, ...(frozen.adjusts ? { adjusts: frozen.adjusts } : {}) }),
        attemptTimeoutMs,
        DELTA_PATH,
        (deadlines ??= new DeadlineQueue(attemptTimeoutMs)),
      );
      return verdictFromAnswer(batch, classifyResult(result), undefined, 0);
    }
    const deltas = batch.members.map((member) => JSON.parse(member.body) as BatchDelta);
    const result = await withDeadline(() => client.balance.emitBatch!(deltas, { idempotencyKey: batch.key }), attemptTimeoutMs, BATCH_PATH, (deadlines ??= new DeadlineQueue(attemptTimeoutMs)));
    return verdictFromAnswer(batch, undefined, result, 0);
  }

  return {
    send: (batch) => sendOnce(batch).catch((err: unknown) => verdictFromError(batch, err)),
    abandon: () => deadlines?.expireAll(),
  };
}
