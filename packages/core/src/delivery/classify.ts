import { NODE_NETWORK_ERROR_CODES } from '../client/error-codes.js';
import { IdempotencyConflictError, PacSpaceApiError } from '../errors.js';
import type { ApiAnswer } from '../client/http-transport.js';

/** What one delivery attempt means for the delta. */
export type Verdict =
  | { kind: 'delivered'; receipt: Record<string, unknown>; deduplicated: boolean }
  | { kind: 'retry'; error: Error; retryAfterMs?: number; pause?: 'meter' | { customerId: string } }
  | { kind: 'permanent'; error: Error }
  | { kind: 'integrity'; error: Error };

/** Statuses worth another attempt: timeouts, rate limits and server trouble. */
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** Client-side failure codes (ours, the SDK's and Node's) that mean "the request may not have arrived". */
const TRANSIENT_CODES = new Set(['NETWORK_ERROR', 'TIMEOUT', ...NODE_NETWORK_ERROR_CODES]);
/**
 * Statuses that, from something other than PacSpace (an HTML page, a gateway's JSON), say nothing
 * about the request: a proxy or load balancer without a route for now, or in the middle of a
 * deploy. Retried; only PacSpace's own JSON answer means the route is not there.
 */
const FOREIGN_TRANSIENT_STATUSES = new Set([404, 405, 501]);

/** Reads the verdict from what the built-in client answered. */
export function classifyAnswer(answer: ApiAnswer): Verdict {
  if (answer.pending) return pending(answer.retryAfterMs);
  return { kind: 'delivered', receipt: answer.data, deduplicated: answer.replayed };
}

/**
 * Reads the verdict from what an SDK-shaped `balance.emit` resolved to: a receipt, a replay
 * (`idempotent: true`) or the SDK's "still in progress" answer (`code: 'IDEMPOTENCY_PENDING'`).
 */
export function classifyResult(result: unknown): Verdict {
  const receipt = result !== null && typeof result === 'object' ? (result as Record<string, unknown>) : {};
  if (receipt.code === 'IDEMPOTENCY_PENDING') return pending(secondsToMs(receipt.retryAfterSeconds));
  return { kind: 'delivered', receipt, deduplicated: receipt.idempotent === true };
}

/**
 * Reads the verdict from a thrown error, ours or the SDK's (`status`/`statusCode`, `code`,
 * `retryAfterMs`/`retryAfter`/`retryAfterSeconds`, `customerId`). 409 is an integrity error; the
 * transient statuses and network failures are retried, and so is a 404, 405 or 501 that the
 * built-in client saw was not PacSpace's answer (`pacspaceEnvelope: false`); every other status is
 * permanent. An error with no status and an unknown code is retried, since the request may never have left.
 */
export function classifyError(error: unknown): Verdict {
  const err = error instanceof Error ? error : new Error(String(error));
  const fields = err as unknown as Record<string, unknown>;
  const status = numberField(fields.status) ?? numberField(fields.statusCode) ?? 0;
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  if (status === 409 || code === 'IDEMPOTENCY_CONFLICT' || err instanceof IdempotencyConflictError) return { kind: 'integrity', error: err };
  if (status === 202 || code === 'IDEMPOTENCY_PENDING') return pending(retryHint(fields));
  if (TRANSIENT_STATUSES.has(status)) {
    const retryAfterMs = retryHint(fields);
    const customerId = typeof fields.customerId === 'string' ? fields.customerId : undefined;
    if (status === 429 && code === 'CADENCE_LIMIT' && customerId) return { kind: 'retry', error: err, retryAfterMs, pause: { customerId } };
    const pause = (status === 429 || status === 503) && retryAfterMs !== undefined ? 'meter' : undefined;
    return { kind: 'retry', error: err, retryAfterMs, ...(pause ? { pause } : {}) };
  }
  // A 2xx we could not read may well have been committed: retrying gets the replay.
  if (status >= 200 && status < 300) return { kind: 'retry', error: err };
  if (FOREIGN_TRANSIENT_STATUSES.has(status) && fields.pacspaceEnvelope === false) return { kind: 'retry', error: err };
  if (status >= 100) return { kind: 'permanent', error: err };
  if (code === undefined || TRANSIENT_CODES.has(code) || !(err instanceof PacSpaceApiError)) return { kind: 'retry', error: err };
  return { kind: 'permanent', error: err };
}

function pending(retryAfterMs: number | undefined): Verdict {
  const error = new PacSpaceApiError('PacSpace is still processing an earlier attempt with this Idempotency-Key', { status: 202, code: 'IDEMPOTENCY_PENDING', retryAfterMs });
  return { kind: 'retry', error, retryAfterMs };
}

function retryHint(fields: Record<string, unknown>): number | undefined {
  return numberField(fields.retryAfterMs) ?? secondsToMs(fields.retryAfter) ?? secondsToMs(fields.retryAfterSeconds);
}

function numberField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function secondsToMs(value: unknown): number | undefined {
  const seconds = numberField(value);
  return seconds !== undefined && seconds >= 0 ? Math.round(seconds * 1000) : undefined;
}
