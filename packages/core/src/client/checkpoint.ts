import { classifyResult } from '../delivery/classify.js';
import type { BalanceClient } from './client.js';
import { MeteringError } from '../errors.js';
import { assertCustomerId } from '../intake/validation.js';
import { assertPeriod } from '../periodic/interval.js';
import { checkpointKey } from '../periodic/keys.js';
import { withDeadline } from '../delivery/deadline.js';
import { callWithRetry, type RetryPolicy } from '../delivery/retry.js';

/**
 * Options of `meter.checkpoint(customerId?, options)`.
 *
 * @example
 * await meter.checkpoint('acme', { period: '2025-03' } satisfies CheckpointOptions);
 */
export interface CheckpointOptions {
  /** The month to checkpoint, `YYYY-MM` (UTC). Default: the current month by the meter's clock. */
  period?: string;
}

/**
 * What a checkpoint resolves to.
 *
 * @example
 * const { checkpointId, deduplicated, idempotencyKey }: CheckpointReceipt = await meter.checkpoint(undefined, { period: '2025-03' });
 */
export interface CheckpointReceipt {
  /** PacSpace's id (`chk_…`), when the answer has one. */
  checkpointId: string | undefined;
  period: string;
  /** The customer checkpointed, or null for all customers. */
  customerId: string | null;
  /** The Idempotency-Key sent ({@link checkpointKey}). */
  idempotencyKey: string;
  /** True when PacSpace answered with an earlier checkpoint of the same scope. */
  deduplicated: boolean;
  attempts: number;
  /** PacSpace's answer (`checkpointId`, `proofRoot`, `status`, ...). */
  receipt: Record<string, unknown>;
}

/**
 * What {@link requestCheckpoint} needs.
 *
 * @example
 * const request: CheckpointRequest = { client, scope: 'billing', period: '2025-03', policy, random: Math.random, attemptTimeoutMs: 10_000 };
 */
export interface CheckpointRequest {
  client: BalanceClient;
  scope: string;
  customerId?: string;
  period: string;
  policy: RetryPolicy;
  random: () => number;
  attemptTimeoutMs: number;
  keepAlive?: boolean;
  signal?: AbortSignal;
  onRetry?: (attempt: number, delayMs: number, error: Error) => void;
}

const CHECKPOINT_PATH = '/api/v1/balance/checkpoint';

/**
 * Asks PacSpace for a checkpoint of one customer (or all) over a month, through the client's
 * `balance.checkpoint(customerId, { period, idempotencyKey })`. The key is {@link checkpointKey},
 * so a retry or a repeated call for the same scope is a replay, and the API is idempotent by
 * resolved scope anyway. Transient failures are retried with backoff; a permanent one (or the
 * last transient one) rejects. Rejects with `INVALID_OPTION` / `INVALID_DELTA` for a bad period or
 * customerId, and `UNSUPPORTED` when the client has no `balance.checkpoint`.
 *
 * @example
 * const receipt = await requestCheckpoint({ client, scope: 'billing', customerId: 'acme', period: '2025-03', policy, random: Math.random, attemptTimeoutMs: 10_000 });
 */
export async function requestCheckpoint(request: CheckpointRequest): Promise<CheckpointReceipt> {
  const { client, customerId, period } = request;
  assertPeriod(period, 'period');
  if (customerId !== undefined) assertCustomerId(customerId);
  const checkpoint = client.balance.checkpoint;
  if (typeof checkpoint !== 'function') throw new MeteringError('UNSUPPORTED', 'the client has no balance.checkpoint(customerId, options); pass the built-in client (apiKey/baseUrl) or an SDK client that has it');
  const idempotencyKey = checkpointKey({ scope: request.scope, period, customerId });
  const { value, attempts } = await callWithRetry(
    () => withDeadline(() => checkpoint.call(client.balance, customerId, { period, idempotencyKey }), request.attemptTimeoutMs, CHECKPOINT_PATH),
    { policy: request.policy, random: request.random, interpret: classifyResult, keepAlive: request.keepAlive, signal: request.signal, onRetry: request.onRetry },
  );
  const receipt = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  return {
    checkpointId: typeof receipt.checkpointId === 'string' ? receipt.checkpointId : undefined,
    period,
    customerId: customerId ?? null,
    idempotencyKey,
    deduplicated: receipt.idempotent === true,
    attempts,
    receipt,
  };
}
