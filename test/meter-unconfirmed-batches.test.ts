// Issue 20, item 1: a batch that may have been recorded (a send of it ended without a definite
// answer) is resent as it is, under its key and on its endpoint, until an answer settles it; never
// one by one under the deltas' own keys on the single endpoint, which PacSpace documents as
// deduplicating by Idempotency-Key only. The sandbox commits behind a proxy on 127.0.0.1 that loses
// PacSpace's answer on the way back and then answers the resend itself. Every test runs twice: with
// a single endpoint that deduplicates by key only, and with one that also knows the referenceId.
import { createMeter, createPacSpaceClient, silentLogger, type BatchDelta, type DropEvent, type EmitOptions, type PacSpaceApiError } from '@pacspace-metering/core';
import type { ProxyAction, RecordingProxy } from './support/recording-proxy.js';
import { SINGLE_DELTA_DEDUPE, useSandboxBehindProxies } from './support/sandbox-behind-proxies.js';
import { BATCH, htmlPage, pacspaceError, SINGLE } from './support/upstream-answers.js';

const NO_ROUTE = pacspaceError(404, 'NOT_FOUND', 'No route for POST /api/v1/balance/delta/batch');

describe.each(SINGLE_DELTA_DEDUPE)('against an API whose single endpoint deduplicates by %s', (singleDeltaDedupe) => {
  const env = useSandboxBehindProxies(20, { singleDeltaDedupe });
  const { expectBilledOnce } = env;

  /** A proxy whose n-th batch request (1-based) gets `script[n - 1]`; later ones and other paths pass through. */
  function scriptedProxy(script: Array<ProxyAction | undefined>): Promise<RecordingProxy> {
    let batches = 0;
    return env.proxy((path) => (path === BATCH ? script[batches++] : undefined));
  }

  function enqueueTwenty(meter: ReturnType<typeof createMeter>): void {
    for (let i = 0; i < 20; i++) expect(meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: `r-${i}` })).toMatchObject({ accepted: true });
  }

  describe('a batch whose answer was lost', () => {
    it.each([
      ['an HTML 404 from a proxy', htmlPage(404, 'Not Found')],
      ["PacSpace's own JSON 404 for the route", NO_ROUTE],
      ["a 501 in PacSpace's envelope", pacspaceError(501, 'NOT_IMPLEMENTED', 'not implemented')],
    ])('and whose resend met %s is resent as it was (same key, body and endpoint) and billed once', async (_name, onResend) => {
      const proxy = await scriptedProxy(['forward-then-cut', onResend]);
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, scope: 'once', retryBaseDelayMs: 5, retryMaxDelayMs: 50, logger: silentLogger });
      enqueueTwenty(meter);
      const report = await meter.flush({ timeoutMs: 30_000 });

      expectBilledOnce(20);
      expect(report).toMatchObject({ delivered: 20, dropped: 0, pending: 0 });
      expect(meter.stats()).toMatchObject({ delivered: 20, deduplicated: 20, dropped: {}, requests: 3 });
      // One request, sent three times: never moved to the single endpoint.
      expect(proxy.requests.map((r) => r.path)).toEqual([BATCH, BATCH, BATCH]);
      expect(new Set(proxy.requests.map((r) => `${r.idempotencyKey} ${r.bodyHash}`)).size).toBe(1);
      await meter.close();
    });

    it.each([
      ['a batch-level 400', pacspaceError(400, 'VALIDATION_ERROR', 'deltas[3].reason is invalid')],
      ['an HTML 413 from a proxy', htmlPage(413, 'Request Entity Too Large')],
      ["a WAF's HTML 403", htmlPage(403, 'Forbidden')],
    ])('and whose resend met %s is split on the batch endpoint only, where each item is deduplicated, and billed once', async (_name, onResend) => {
      const proxy = await scriptedProxy(['forward-then-cut', onResend]);
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, scope: 'split', retryBaseDelayMs: 5, retryMaxDelayMs: 50, logger: silentLogger });
      enqueueTwenty(meter);
      const report = await meter.flush({ timeoutMs: 30_000 });

      expectBilledOnce(20);
      expect(report).toMatchObject({ delivered: 20, dropped: 0, pending: 0 });
      // The halves come back as replays: PacSpace recorded the first send.
      expect(meter.stats()).toMatchObject({ delivered: 20, deduplicated: 20, dropped: {}, requests: 4 });
      expect(proxy.requests.map((r) => r.path)).toEqual([BATCH, BATCH, BATCH, BATCH]);
      await meter.close();
    });

    it('is billed once with an SDK-shaped client whose errors carry only status and code', async () => {
      const proxy = await scriptedProxy(['forward-then-cut', NO_ROUTE]);
      const real = createPacSpaceClient({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url });
      // Errors as an SDK throws them: its own class, with status and code, nothing of ours.
      const sdkError = (err: PacSpaceApiError) => Object.assign(new Error(err.message), { status: err.status, code: err.code });
      const client = {
        balance: {
          emit: (c: string, d: number, r: string, o?: EmitOptions) => real.balance.emit(c, d, r, o).catch((err: PacSpaceApiError) => Promise.reject(sdkError(err))),
          emitBatch: (deltas: BatchDelta[], o?: { idempotencyKey?: string }) => real.balance.emitBatch(deltas, o).catch((err: PacSpaceApiError) => Promise.reject(sdkError(err))),
        },
      };
      const meter = createMeter({ client, scope: 'sdk', retryBaseDelayMs: 5, retryMaxDelayMs: 50, logger: silentLogger });
      enqueueTwenty(meter);
      await meter.flush({ timeoutMs: 30_000 });

      expectBilledOnce(20);
      expect(meter.stats()).toMatchObject({ delivered: 20, deduplicated: 20, dropped: {} });
      expect(proxy.requests.every((r) => r.path === BATCH)).toBe(true);
      await meter.close();
      real.close();
    });

    it('whose customer is then paused travels again only through the batch endpoint, even when that endpoint answers 404 for a while', async () => {
      // Send 1 is committed and its answer lost; send 2 meets a cadence limit for one customer, so the
      // members go back to the queue; the next three batch requests meet PacSpace's 404.
      const cadence = pacspaceError(429, 'CADENCE_LIMIT', 'Submission cadence limit reached for this customer.', { retryAfterSeconds: 1, customerId: 'busy' });
      const proxy = await scriptedProxy(['forward-then-cut', cadence, NO_ROUTE, NO_ROUTE, NO_ROUTE]);
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, scope: 'paused', retryBaseDelayMs: 5, retryMaxDelayMs: 50, logger: silentLogger });
      for (let i = 0; i < 10; i++) meter.enqueue({ customerId: i === 4 ? 'busy' : 'calm', delta: -1, reason: 'api_request', requestId: `p-${i}` });
      const report = await meter.flush({ timeoutMs: 30_000 });

      expectBilledOnce(10);
      expect(report).toMatchObject({ delivered: 10, dropped: 0, pending: 0 });
      expect(meter.stats()).toMatchObject({ delivered: 10, deduplicated: 10, dropped: {} });
      expect(proxy.requests.filter((r) => r.path === SINGLE)).toEqual([]);
      await meter.close();
    });

    it('that never gets an answer is dropped when its attempts run out, reported as possibly recorded, never resent elsewhere', async () => {
      const proxy = await scriptedProxy(Array(3).fill('forward-then-cut'));
      const drops: DropEvent[] = [];
      const lines: string[] = [];
      const logger = { ...silentLogger, warn: (_o: object, msg?: string) => void lines.push(msg ?? '') };
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, scope: 'lost', maxAttempts: 3, retryBaseDelayMs: 5, retryMaxDelayMs: 50, logger, onDrop: (d) => drops.push(d) });
      enqueueTwenty(meter);
      const report = await meter.flush({ timeoutMs: 30_000 });

      expect(report).toMatchObject({ delivered: 0, dropped: 20, pending: 0 });
      expect(drops).toHaveLength(20);
      expect(drops.every((d) => d.reason === 'max_attempts' && d.mayBeRecorded === true && d.attempts === 3)).toBe(true);
      expect(lines.some((line) => line.includes('PacSpace may have recorded it'))).toBe(true);
      // PacSpace did record them, once: the first send committed, the resends were replays.
      expectBilledOnce(20);
      expect(proxy.requests.map((r) => r.path)).toEqual([BATCH, BATCH, BATCH]);
      expect(new Set(proxy.requests.map((r) => r.idempotencyKey)).size).toBe(1);
      await meter.close();
    });
  });
});
