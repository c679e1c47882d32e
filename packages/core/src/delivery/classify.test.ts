import { classifyAnswer, classifyError, classifyResult } from './classify.js';
import { IdempotencyConflictError, PacSpaceApiError } from '../errors.js';

const apiError = (status: number, code: string, extra: Record<string, unknown> = {}) => new PacSpaceApiError('x', { status, code, ...extra });

describe('classification', () => {
  it.each([408, 429, 500, 502, 503, 504])('retries status %i', (status) => {
    expect(classifyError(apiError(status, 'X')).kind).toBe('retry');
  });

  it.each([400, 401, 402, 403, 404, 412, 422, 501])('never retries status %i', (status) => {
    expect(classifyError(apiError(status, 'X')).kind).toBe('permanent');
  });

  it('reports 409 as an integrity error', () => {
    expect(classifyError(new IdempotencyConflictError('x', { status: 409, code: 'IDEMPOTENCY_CONFLICT' })).kind).toBe('integrity');
    expect(classifyError(Object.assign(new Error('sdk'), { statusCode: 409 })).kind).toBe('integrity');
  });

  it('retries network failures and deadlines, ours and foreign', () => {
    expect(classifyError(apiError(0, 'NETWORK_ERROR')).kind).toBe('retry');
    expect(classifyError(apiError(0, 'TIMEOUT')).kind).toBe('retry');
    expect(classifyError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })).kind).toBe('retry');
  });

  it('pauses the whole meter on 429/503 with a hint, and only the customer on CADENCE_LIMIT', () => {
    expect(classifyError(apiError(429, 'RATE_LIMITED', { retryAfterMs: 2000 }))).toMatchObject({ kind: 'retry', retryAfterMs: 2000, pause: 'meter' });
    expect(classifyError(apiError(503, 'SERVICE_UNAVAILABLE', { retryAfterMs: 1000 }))).toMatchObject({ pause: 'meter' });
    expect(classifyError(apiError(500, 'API_ERROR', { retryAfterMs: 1000 })).kind === 'retry' && 'pause' in classifyError(apiError(500, 'API_ERROR', { retryAfterMs: 1000 }))).toBe(false);
    expect(classifyError(apiError(429, 'CADENCE_LIMIT', { retryAfterMs: 120_000, customerId: 'acme' }))).toMatchObject({ pause: { customerId: 'acme' }, retryAfterMs: 120_000 });
  });

  it('reads SDK-style hints in seconds', () => {
    expect(classifyError(Object.assign(new Error('rl'), { statusCode: 429, retryAfter: 3 }))).toMatchObject({ retryAfterMs: 3000, pause: 'meter' });
  });

  it('treats a replay as delivered-deduplicated and 202 pending as retry', () => {
    expect(classifyResult({ recordId: 'rec_1', idempotent: true })).toMatchObject({ kind: 'delivered', deduplicated: true });
    expect(classifyResult({ recordId: 'rec_1' })).toMatchObject({ kind: 'delivered', deduplicated: false });
    expect(classifyResult({ code: 'IDEMPOTENCY_PENDING', retryAfterSeconds: 1 })).toMatchObject({ kind: 'retry', retryAfterMs: 1000 });
    expect(classifyAnswer({ status: 202, data: {}, replayed: false, pending: true })).toMatchObject({ kind: 'retry' });
    expect(classifyAnswer({ status: 200, data: { recordId: 'r' }, replayed: true, pending: false })).toMatchObject({ kind: 'delivered', deduplicated: true });
  });

  it("retries a 404, 405 or 501 that was not PacSpace's answer (an HTML page from a proxy), not PacSpace's own", () => {
    for (const status of [404, 405, 501]) {
      expect(classifyError(apiError(status, 'NOT_FOUND', { pacspaceEnvelope: false })).kind).toBe('retry');
      expect(classifyError(apiError(status, 'NOT_FOUND', { pacspaceEnvelope: true })).kind).toBe('permanent');
    }
    expect(classifyError(apiError(400, 'VALIDATION_ERROR', { pacspaceEnvelope: false })).kind).toBe('permanent');
  });
});
