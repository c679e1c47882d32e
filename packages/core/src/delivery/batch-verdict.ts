import { mapBatchAnswer, type ItemOutcome } from './batch-result.js';
import { classifyError, type Verdict } from './classify.js';
import { PacSpaceApiError } from '../errors.js';
import type { FrozenBatch } from './batch.js';

/**
 * What one request meant for the batch it carried.
 * - `answered`: PacSpace answered each member (`items`, by position): recorded, replayed, refused
 *   for now or for good.
 * - `retry`: the request failed transiently (network, deadline, 408/429/5xx, 202 in progress):
 *   resend the frozen batch, same key and body, after a backoff.
 * - `halve`: 413, a batch-level 400/409/422, or a 401/403 that is not PacSpace's key error (a WAF
 *   refusing what one item carries), on two or more members: split it to find the member at fault
 *   (a single member is then `failed`).
 * - `unbatched`: PacSpace answered that the batch endpoint does not exist (404/405/501): deliver
 *   one by one. The same statuses from anything else (an HTML page) are `retry`.
 * - `failed`: refused for good, every member: `unauthorized` (PacSpace's 401/403: the key, not the
 *   deltas), `integrity` (409), or `rejected` (402, ..., or a single member's 4xx).
 *
 * @example
 * const verdict: BatchVerdict = { kind: 'retry', error, retryAfterMs: 1000, pause: 'meter' };
 */
export type BatchVerdict =
  | { kind: 'answered'; items: ItemOutcome[]; status: number }
  | { kind: 'retry'; error: Error; retryAfterMs?: number; pause?: 'meter' | { customerId: string } }
  | { kind: 'halve'; error: Error }
  | { kind: 'unbatched'; error: Error }
  | { kind: 'failed'; error: Error; reason: 'rejected' | 'integrity' | 'unauthorized' };

/** Batch-level statuses that one bad member can cause: bisect rather than refuse them all. */
const SPLITTABLE = new Set([400, 409, 413, 422]);
/** Statuses that say the batch endpoint is not there. */
const NO_BATCH_ENDPOINT = new Set([404, 405, 501]);

/**
 * Reads a resolved answer: the single endpoint's receipt (`verdict` from `classifyAnswer` /
 * `classifyResult`), or the batch endpoint's `{ results: [...] }`, matched to members by `index`.
 * `status` is the answer's HTTP status (0 when an SDK-shaped client does not tell).
 *
 * @example
 * verdictFromAnswer(batch, undefined, { totalQueued: 1, results: [{ index: 0, status: 'QUEUED' }] }, 201);
 */
export function verdictFromAnswer(batch: FrozenBatch, single: Verdict | undefined, answer: unknown, status: number): BatchVerdict {
  if (single !== undefined) {
    if (single.kind === 'delivered') return { kind: 'answered', items: [{ kind: 'delivered', replayed: single.deduplicated, receipt: single.receipt }], status };
    if (single.kind === 'retry') return single;
    return { kind: 'failed', error: single.error, reason: failureReason(single.kind === 'integrity', single.error) };
  }
  const mapped = mapBatchAnswer(answer, batch.members.length);
  if (mapped.kind === 'pending') return pendingVerdict(mapped.retryAfterMs);
  return { kind: 'answered', items: mapped.outcomes, status };
}

/**
 * Reads a thrown error (ours or an SDK's) for a batch: transient ones are retried as they are,
 * the rest as {@link BatchVerdict} explains.
 *
 * @example
 * verdictFromError(batch, new PacSpaceApiError('too large', { status: 413, code: 'PAYLOAD_TOO_LARGE' })); // -> { kind: 'halve', ... }
 */
export function verdictFromError(batch: FrozenBatch, error: unknown): BatchVerdict {
  const verdict = classifyError(error);
  if (verdict.kind === 'retry') return verdict;
  if (verdict.kind === 'delivered') throw new Error('unreachable: classifyError never answers delivered');
  const status = statusOf(verdict.error);
  if (batch.mode === 'batch') {
    if (NO_BATCH_ENDPOINT.has(status)) return { kind: 'unbatched', error: verdict.error };
    const aboutContent = SPLITTABLE.has(status) || ((status === 401 || status === 403) && !refusesKey(verdict.error));
    if (batch.members.length > 1 && aboutContent) return { kind: 'halve', error: verdict.error };
  }
  return { kind: 'failed', error: verdict.error, reason: failureReason(verdict.kind === 'integrity', verdict.error) };
}

/**
 * What becomes of a verdict for a batch that may have been recorded: one a send of it ended
 * without a definite answer (`unconfirmed`), or one that carries a delta an earlier batch may have
 * recorded (`carriesUnconfirmed`). Such deltas never leave the batch endpoint: an `unbatched`
 * answer (which PacSpace would not give to a request it had recorded) is retried as it is, because
 * the single endpoint deduplicates by Idempotency-Key only and would bill them again. A `halve`
 * stays a `halve`: the halves go to the batch endpoint, which deduplicates each item by its
 * referenceId (an item already recorded comes back `idempotent: true`), so one hostile item or a
 * proxy's 413 cannot hold its honest neighbours back until they run out of time.
 *
 * @example
 * holdUnconfirmed({ kind: 'unbatched', error }, true, () => false); // -> { kind: 'retry', error }
 */
export function holdUnconfirmed(verdict: BatchVerdict, unconfirmed: boolean, carriesUnconfirmed: () => boolean): BatchVerdict {
  if (verdict.kind === 'unbatched' && (unconfirmed || carriesUnconfirmed())) return { kind: 'retry', error: verdict.error };
  return verdict;
}

/**
 * Whether a 401/403 is PacSpace refusing the API key or the account: an answer in PacSpace's JSON
 * error envelope (the built-in client tells, `pacspaceEnvelope`), or, from an SDK-shaped client, an
 * error whose `code` is PacSpace's (not the SDKs' catch-all `API_ERROR`/`UNKNOWN` for a body they
 * could not read). Anything else (a WAF's HTML 403) is about what the request carried.
 */
function refusesKey(error: Error): boolean {
  const { pacspaceEnvelope, code } = error as Partial<PacSpaceApiError>;
  if (pacspaceEnvelope !== undefined) return pacspaceEnvelope;
  return typeof code === 'string' && code !== 'API_ERROR' && code !== 'UNKNOWN';
}

/** A 401 or 403 from PacSpace refuses the key (or its environment), whatever the deltas: a configuration failure. */
function failureReason(integrity: boolean, error: Error): 'rejected' | 'integrity' | 'unauthorized' {
  if (integrity) return 'integrity';
  const status = statusOf(error);
  return (status === 401 || status === 403) && refusesKey(error) ? 'unauthorized' : 'rejected';
}

function statusOf(error: Error): number {
  const fields = error as unknown as { status?: unknown; statusCode?: unknown };
  const status = typeof fields.status === 'number' ? fields.status : fields.statusCode;
  return typeof status === 'number' ? status : 0;
}

function pendingVerdict(retryAfterMs: number | undefined): BatchVerdict {
  const error = new PacSpaceApiError('PacSpace is still processing an earlier attempt with this Idempotency-Key', { status: 202, code: 'IDEMPOTENCY_PENDING', retryAfterMs });
  return { kind: 'retry', error, retryAfterMs };
}
