// The delivery core on its own: intake -> store -> loop -> (fake) sender -> verdict -> outcomes ->
// drain, on a fake clock. Each behaviour in milliseconds; the end-to-end suite checks the same
// rules against the sandbox over real sockets.
import { jest } from '@jest/globals';
import { PacSpaceApiError } from './errors.js';
import type { BatchVerdict } from './delivery/batch-verdict.js';
import { advance, deliveryHarness, recordAll, settleNow, useFakeClock, type SentRequest } from '../test-support/delivery-harness.js';

const delivered = (request: SentRequest, except: (id: string) => boolean = () => false): BatchVerdict => ({
  kind: 'answered',
  items: request.referenceIds.map((id) => (except(id) ? { kind: 'transient', code: 'CADENCE_LIMIT', message: 'slow down', retryAfterMs: 5_000 } : { kind: 'delivered', replayed: false, receipt: {} })),
  status: 201,
});
const transient = (): BatchVerdict => ({ kind: 'retry', error: new PacSpaceApiError('unavailable', { status: 503, code: 'SERVICE_UNAVAILABLE' }) });

describe('delivery core (fake sender, fake clock)', () => {
  let made: Array<ReturnType<typeof deliveryHarness>> = [];
  const harness = (...args: Parameters<typeof deliveryHarness>) => {
    const h = deliveryHarness(...args);
    made.push(h);
    return h;
  };
  beforeEach(() => useFakeClock());
  afterEach(() => {
    jest.useRealTimers();
    // An internal error the loop caught (logged, never thrown) fails the test that caused it.
    for (const h of made) expect(h.errors).toEqual([]);
    made = [];
  });

  describe('batching', () => {
    it('sends full batches at once and the rest when the first of it has waited flushIntervalMs', async () => {
      const h = harness(recordAll, { maxBatchSize: 100, flushIntervalMs: 1_000 });
      h.accept(250);
      await advance(0);
      expect(h.sent.map((r) => r.referenceIds.length)).toEqual([100, 100]);
      await advance(999);
      expect(h.sent).toHaveLength(2);
      await advance(1);
      expect(h.sent.map((r) => r.referenceIds.length)).toEqual([100, 100, 50]);
      expect(h.delivered).toHaveLength(250);
      expect(new Set(h.delivered.map((d) => d.referenceId)).size).toBe(250);
    });

    it('sends at once, without lingering, while a flush waits', async () => {
      const h = harness(recordAll, { flushIntervalMs: 60_000 });
      h.accept(3);
      const flushed = h.engine.drain.flush(10_000);
      await advance(0);
      await expect(flushed).resolves.toMatchObject({ delivered: 3, timedOut: false, pending: 0 });
      expect(h.sent).toHaveLength(1);
    });
  });

  describe('retry', () => {
    it('resends a batch that failed transiently with the same key and body, after the backoff and not before', async () => {
      const h = harness((request, index) => (index === 0 ? transient() : recordAll(request, index)), { flushIntervalMs: 0 });
      h.accept(2);
      await advance(0);
      expect(h.sent).toHaveLength(1);
      const { delayMs } = h.retried[0]!;
      expect(delayMs).toBeGreaterThan(0);
      await advance(delayMs - 1);
      expect(h.sent).toHaveLength(1);
      await advance(1);
      expect(h.sent).toHaveLength(2);
      expect(h.sent[1]).toMatchObject({ key: h.sent[0]!.key, body: h.sent[0]!.body });
      expect(h.delivered).toHaveLength(2);
    });

    it('gives up after maxAttempts, reporting each delta dropped (max_attempts) and possibly recorded', async () => {
      const h = harness(transient, { flushIntervalMs: 0, maxAttempts: 3 });
      const [id] = h.accept(1);
      await advance(10 * 60_000);
      expect(h.sent).toHaveLength(3);
      expect(h.dropped).toEqual([expect.objectContaining({ reason: 'max_attempts', referenceId: id, mayBeRecorded: true, attempts: 3 })]);
      expect(h.engine.stats()).toMatchObject({ queued: 0, inFlight: 0, dropped: { max_attempts: 1 } });
    });

    it('sends a member refused for now inside an answer again under a new key, after its hint', async () => {
      let first = true;
      const h = harness((request) => {
        const answer = delivered(request, (id) => first && id.endsWith(':r1'));
        first = false;
        return answer;
      }, { flushIntervalMs: 0 });
      const ids = h.accept(3);
      await advance(0);
      expect(h.delivered.map((d) => d.referenceId).sort()).toEqual([ids[0], ids[2]].sort());
      await advance(4_999);
      expect(h.sent).toHaveLength(1);
      await advance(1);
      expect(h.sent).toHaveLength(2);
      expect(h.sent[1]!.referenceIds).toEqual([ids[1]]);
      expect(h.sent[1]!.key).not.toBe(h.sent[0]!.key);
      expect(h.delivered).toHaveLength(3);
      expect(h.dropped).toEqual([]);
    });
  });

  describe('halving', () => {
    it('halves a refused batch until the member at fault is alone; only that one is dropped', async () => {
      const bad = (id: string) => id.includes(':bad:');
      const h = harness((request) => {
        if (!request.referenceIds.some(bad)) return recordAll(request, 0);
        const error = new PacSpaceApiError('too large', { status: 413, code: 'PAYLOAD_TOO_LARGE' });
        return request.referenceIds.length > 1 ? { kind: 'halve', error } : { kind: 'failed', error, reason: 'rejected' };
      }, { flushIntervalMs: 0 });
      h.accept(5);
      const [badId] = h.accept(1, 'bad', 5);
      h.accept(2, 'acme', 6);
      await settleNow();
      expect(h.delivered).toHaveLength(7);
      expect(h.dropped).toEqual([expect.objectContaining({ reason: 'rejected', referenceId: badId })]);
      // 8 -> 4 + 4 -> 2 + 2 -> 1 + 1: one request per batch, each under its own key.
      expect(h.sent.map((r) => r.referenceIds.length)).toEqual([8, 4, 4, 2, 2, 1, 1]);
      expect(new Set(h.sent.map((r) => r.key)).size).toBe(h.sent.length);
    });
  });

  describe('classification', () => {
    it('drops every member of a batch whose key PacSpace refused (unauthorized), none delivered', async () => {
      const error = new PacSpaceApiError('bad key', { status: 401, code: 'INVALID_API_KEY' });
      const h = harness(() => ({ kind: 'failed', error, reason: 'unauthorized' }), { flushIntervalMs: 0 });
      h.accept(3);
      await advance(0);
      expect(h.dropped.map((d) => d.reason)).toEqual(['unauthorized', 'unauthorized', 'unauthorized']);
      expect(h.engine.stats().failed).toEqual({ INVALID_API_KEY: 3 });
    });

    it('delivers one delta per request, keyed by its referenceId, once PacSpace says the batch endpoint is not there', async () => {
      const h = harness((request, index) => (index === 0 ? { kind: 'unbatched', error: new PacSpaceApiError('no route', { status: 404, code: 'NOT_FOUND' }) } : recordAll(request, index)), { flushIntervalMs: 0 });
      const ids = h.accept(3);
      await settleNow();
      expect(h.sent[0]).toMatchObject({ mode: 'batch' });
      expect(h.sent.slice(1).map((r) => [r.mode, r.key])).toEqual(ids.map((id) => ['single', id]));
      expect(h.delivered).toHaveLength(3);
    });
  });

  describe('drain', () => {
    it('flush waits through a transient failure and resolves once every delta is delivered', async () => {
      const h = harness((request, index) => (index === 0 ? transient() : recordAll(request, index)), { flushIntervalMs: 0 });
      h.accept(4);
      const flushed = h.engine.drain.flush(60_000);
      await advance(60_000);
      await expect(flushed).resolves.toMatchObject({ delivered: 4, timedOut: false, pending: 0 });
    });

    it('close that runs out of time drops what was never sent (shutdown) and reports what was left', async () => {
      const never = new Promise<BatchVerdict>(() => undefined);
      const h = harness(() => never, { flushIntervalMs: 0, maxBatchSize: 1, concurrency: 1 });
      const ids = h.accept(3);
      await advance(0);
      const closed = h.engine.drain.close(5_000);
      await advance(5_000);
      const report = await closed;
      expect(report).toMatchObject({ timedOut: true, pending: 3 });
      expect(report.pendingReferenceIds.sort()).toEqual([...ids].sort());
      // The first is in a request under way: it settles if an answer comes; the other two are lost.
      expect(h.dropped.map((d) => [d.reason, d.referenceId])).toEqual([['shutdown', ids[1]], ['shutdown', ids[2]]]);
      expect(h.engine.intake.accept({ customerId: 'acme', delta: -1, reason: 'api_request' }, true)).toMatchObject({ accepted: false, reason: 'closed' });
    });
  });
});
