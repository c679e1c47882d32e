import { formBatch } from './batch.js';
import { holdUnconfirmed, verdictFromAnswer, verdictFromError, type BatchVerdict } from './batch-verdict.js';
import { IdempotencyConflictError, PacSpaceApiError } from '../errors.js';
import type { QueuedDelta } from '../store/store.js';

const item = (n: number): QueuedDelta => ({ seq: n, referenceId: `r${n}`, customerId: 'c', fields: { customerId: 'c', delta: -1, reason: 'r', referenceId: `r${n}` }, body: '{}', bytes: 2, acceptedAt: 0, attempts: 0, dueAt: 0 });
const batchOf = (n: number) => formBatch(Array.from({ length: n }, (_, i) => item(i)), 'batch', 's');
const apiError = (status: number, code = 'X') => new PacSpaceApiError(`status ${status}`, { status, code });
/** What the built-in client throws for an answer in PacSpace's envelope (`true`) or not (`false`: an HTML page from a proxy). */
const answered = (status: number, pacspaceEnvelope: boolean, code = 'X') => new PacSpaceApiError(`status ${status}`, { status, code, pacspaceEnvelope });
/** What an SDK throws: its own error, with status and code. */
const sdkError = (status: number, code: string) => Object.assign(new Error(`sdk ${status}`), { status, code });

describe('what a batch answer means', () => {
  it('retries transient failures of the whole request as they are', () => {
    for (const error of [apiError(503), apiError(429, 'RATE_LIMITED'), apiError(0, 'NETWORK_ERROR'), apiError(0, 'TIMEOUT')]) {
      expect(verdictFromError(batchOf(5), error).kind).toBe('retry');
    }
  });

  it('splits a 413 and a batch-level 400/409/422 to find the member at fault; a single member fails', () => {
    for (const error of [apiError(413), apiError(400), apiError(422), new IdempotencyConflictError('conflict', { status: 409, code: 'IDEMPOTENCY_CONFLICT' })]) {
      expect(verdictFromError(batchOf(2), error).kind).toBe('halve');
    }
    expect(verdictFromError(batchOf(1), apiError(400))).toMatchObject({ kind: 'failed', reason: 'rejected' });
    expect(verdictFromError(batchOf(1), new IdempotencyConflictError('conflict', { status: 409, code: 'IDEMPOTENCY_CONFLICT' }))).toMatchObject({ kind: 'failed', reason: 'integrity' });
  });

  it('refuses every member for account-wide refusals: 401 and 403 as unauthorized, 402 as rejected', () => {
    for (const status of [401, 403]) expect(verdictFromError(batchOf(3), apiError(status))).toMatchObject({ kind: 'failed', reason: 'unauthorized' });
    expect(verdictFromError(batchOf(3), apiError(402))).toMatchObject({ kind: 'failed', reason: 'rejected' });
  });

  it('falls back to single deltas when the batch endpoint is missing (404, 405, 501)', () => {
    for (const status of [404, 405, 501]) expect(verdictFromError(batchOf(3), apiError(status)).kind).toBe('unbatched');
  });

  it('maps per-item results back to members, and reads a 202 in progress as a retry', () => {
    const verdict = verdictFromAnswer(batchOf(2), undefined, { results: [{ index: 1, status: 'QUEUED' }, { index: 0, status: 'FAILED', error: 'CADENCE_LIMIT' }] }, 201);
    expect(verdict).toMatchObject({ kind: 'answered', status: 201, items: [{ kind: 'transient', code: 'CADENCE_LIMIT' }, { kind: 'delivered', replayed: false }] });
    expect(verdictFromAnswer(batchOf(2), undefined, { code: 'IDEMPOTENCY_PENDING', retryAfterSeconds: 2 }, 202)).toMatchObject({ kind: 'retry', retryAfterMs: 2000 });
  });

  it("halves on a 401/403 that is not PacSpace's key error (a WAF refusing one item's content); a single member is rejected, not unauthorized", () => {
    for (const error of [answered(403, false), answered(401, false), sdkError(403, 'API_ERROR'), sdkError(401, 'UNKNOWN')]) {
      expect(verdictFromError(batchOf(4), error).kind).toBe('halve');
      expect(verdictFromError(batchOf(1), error)).toMatchObject({ kind: 'failed', reason: 'rejected' });
    }
    for (const error of [answered(403, true, 'API_KEY_ENVIRONMENT_HOST_MISMATCH'), answered(401, true, 'INVALID_API_KEY'), sdkError(401, 'INVALID_API_KEY'), sdkError(403, 'FORBIDDEN')]) {
      expect(verdictFromError(batchOf(4), error)).toMatchObject({ kind: 'failed', reason: 'unauthorized' });
      expect(verdictFromError(batchOf(1), error)).toMatchObject({ kind: 'failed', reason: 'unauthorized' });
    }
  });

  it("falls back to single deltas only on PacSpace's own 404/405/501; a proxy's is retried", () => {
    for (const status of [404, 405, 501]) {
      expect(verdictFromError(batchOf(3), answered(status, true, 'NOT_FOUND')).kind).toBe('unbatched');
      expect(verdictFromError(batchOf(3), answered(status, false)).kind).toBe('retry');
      expect(verdictFromError(formBatch([item(1)], 'single', 's'), answered(status, false)).kind).toBe('retry');
    }
  });

  it('keeps a batch that may have been recorded on the batch endpoint: never moved to single, but split there', () => {
    const error = apiError(404);
    const halve: BatchVerdict = { kind: 'halve', error };
    const unbatched: BatchVerdict = { kind: 'unbatched', error };
    expect(holdUnconfirmed(halve, true, () => false)).toBe(halve);
    expect(holdUnconfirmed(unbatched, true, () => false)).toEqual({ kind: 'retry', error });
    // A batch carrying a delta an earlier batch may have recorded keeps it on the batch endpoint, but may split.
    expect(holdUnconfirmed(unbatched, false, () => true)).toEqual({ kind: 'retry', error });
    expect(holdUnconfirmed(halve, false, () => true)).toBe(halve);
    expect(holdUnconfirmed(unbatched, false, () => false)).toBe(unbatched);
    const failed: BatchVerdict = { kind: 'failed', error, reason: 'rejected' };
    expect(holdUnconfirmed(failed, true, () => true)).toBe(failed);
  });
});
