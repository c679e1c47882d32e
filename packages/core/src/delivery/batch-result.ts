import { boundText, MAX_UPSTREAM_CODE_LENGTH, MAX_UPSTREAM_MESSAGE_LENGTH } from '../client/error-codes.js';

/**
 * What one item of a batch answer means.
 *
 * @example
 * const outcome: ItemOutcome = { kind: 'transient', code: 'CADENCE_LIMIT', message: 'later', retryAfterMs: 60_000 };
 */
export type ItemOutcome =
  | { kind: 'delivered'; replayed: boolean; recordId?: string; receipt: Record<string, unknown> }
  | { kind: 'transient'; code: string; message: string; retryAfterMs?: number }
  | { kind: 'permanent'; code: string; message: string; integrity: boolean };

/**
 * What a 2xx batch answer means for the chunk.
 *
 * @example
 * const answer: ChunkAnswer = mapBatchAnswer(await client.balance.emitBatch(items, { idempotencyKey }), items.length);
 */
export type ChunkAnswer = { kind: 'pending'; retryAfterMs?: number } | { kind: 'answered'; outcomes: ItemOutcome[] };

/** Per-item error codes worth another round: limits and server trouble. Every other code is permanent. */
const TRANSIENT_ITEM_CODES = new Set(['CADENCE_LIMIT', 'RATE_LIMITED', 'IDEMPOTENCY_PENDING', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE', 'BAD_GATEWAY', 'GATEWAY_TIMEOUT', 'TIMEOUT']);
/** Per-item codes that mean the referenceId was already used for different content. */
const INTEGRITY_ITEM_CODES = new Set(['IDEMPOTENCY_CONFLICT', 'CONFLICT']);

/**
 * Maps a batch answer (`{ totalQueued, totalFailed, results: [{ index, status, error?, idempotent? }] }`)
 * back to the items sent, by `index`, never by position. `QUEUED` (any status but `FAILED`) is
 * delivered, a replay when the item or the whole answer says `idempotent: true`. `FAILED` items are
 * transient (`CADENCE_LIMIT`, rate limits, 5xx codes) or permanent (validation, ...), and
 * `IDEMPOTENCY_CONFLICT` is an integrity failure. An item the answer does not mention is transient
 * (`MISSING_RESULT`): sending it again is safe, since items are deduplicated by referenceId.
 * `IDEMPOTENCY_PENDING` (an earlier attempt with the key is still running) is `pending`.
 *
 * @example
 * mapBatchAnswer({ results: [{ index: 1, status: 'FAILED', error: 'CADENCE_LIMIT' }, { index: 0, status: 'QUEUED', idempotent: true }] }, 2);
 * // -> { kind: 'answered', outcomes: [{ kind: 'delivered', replayed: true }, { kind: 'transient', code: 'CADENCE_LIMIT', ... }] }
 */
export function mapBatchAnswer(answer: unknown, size: number): ChunkAnswer {
  const body = answer !== null && typeof answer === 'object' ? (answer as Record<string, unknown>) : {};
  if (body.code === 'IDEMPOTENCY_PENDING') return { kind: 'pending', retryAfterMs: seconds(body.retryAfterSeconds) };
  const wholeReplay = body.idempotent === true;
  // One array, filled in place: this runs for every delta delivered.
  const outcomes: Array<ItemOutcome | undefined> = new Array(size).fill(undefined);
  const results = Array.isArray(body.results) ? body.results : [];
  for (const raw of results) {
    if (raw === null || typeof raw !== 'object') continue;
    const result = raw as Record<string, unknown>;
    const index = result.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= size || outcomes[index] !== undefined) continue;
    outcomes[index] = itemOutcome(result, wholeReplay);
  }
  for (let i = 0; i < size; i++) outcomes[i] ??= { kind: 'transient', code: 'MISSING_RESULT', message: 'the batch answer had no result for this item' };
  return { kind: 'answered', outcomes: outcomes as ItemOutcome[] };
}

function itemOutcome(result: Record<string, unknown>, wholeReplay: boolean): ItemOutcome {
  if (result.status !== 'FAILED') {
    const replayed = wholeReplay || result.idempotent === true;
    // Two literals rather than a spread of a temporary object (no recordId key when there is none).
    const recordId = result.recordId;
    return typeof recordId === 'string' ? { kind: 'delivered', replayed, recordId, receipt: result } : { kind: 'delivered', replayed, receipt: result };
  }
  // Upstream text, kept for logs and hooks but bounded (a chatty proxy can put anything there).
  const code = typeof result.error === 'string' && result.error.length > 0 ? boundText(result.error, MAX_UPSTREAM_CODE_LENGTH) : 'API_ERROR';
  const message = typeof result.message === 'string' ? boundText(result.message, MAX_UPSTREAM_MESSAGE_LENGTH) : `item failed with ${code}`;
  if (INTEGRITY_ITEM_CODES.has(code)) return { kind: 'permanent', code, message, integrity: true };
  if (TRANSIENT_ITEM_CODES.has(code)) return { kind: 'transient', code, message, retryAfterMs: seconds(result.retryAfterSeconds) };
  return { kind: 'permanent', code, message, integrity: false };
}

function seconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
}
