// Issue 20, items 3 and 4: what a proxy, load balancer or WAF between the Meter and PacSpace
// answers is not PacSpace's word. An HTML 404 is retried (and never turns batching off for good;
// PacSpace's own JSON 404 does, until a later probe finds the batch endpoint back), and a 401/403
// that is not PacSpace's JSON key error is about the content: the one item that caused it is
// isolated, its 99 neighbours delivered. The sandbox sits behind a proxy on 127.0.0.1 that injects
// the answers; every test runs with a single endpoint that deduplicates by Idempotency-Key only, and
// with one that also knows the referenceId.
import { createMeter, silentLogger, type DeliveryReceipt, type DropEvent, type Meter, type PacSpaceApiError } from '@pacspace-metering/core';
import type { ProxyExchange } from './support/recording-proxy.js';
import { SINGLE_DELTA_DEDUPE, useSandboxBehindProxies } from './support/sandbox-behind-proxies.js';
import { BATCH, htmlPage, pacspaceError, SINGLE } from './support/upstream-answers.js';

describe.each(SINGLE_DELTA_DEDUPE)('against an API whose single endpoint deduplicates by %s', (singleDeltaDedupe) => {
  const env = useSandboxBehindProxies(3, { singleDeltaDedupe });
  const { expectBilledOnce } = env;

  /** A logger that keeps every warn and error line. */
  function keptLines(): { lines: string[]; logger: typeof silentLogger } {
    const lines: string[] = [];
    const keep = (_obj: object, msg?: string) => void lines.push(msg ?? '');
    return { lines, logger: { ...silentLogger, warn: keep, error: keep } };
  }

  function enqueue(meter: Meter, count: number, prefix: string): void {
    for (let i = 0; i < count; i++) expect(meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: `${prefix}-${i}` })).toMatchObject({ accepted: true });
  }

  describe('item 3: a proxy 404 is not PacSpace saying the batch endpoint is gone', () => {
    it('retries one HTML 404, and the healthy traffic after it still travels in batches', async () => {
      let seen = 0;
      const proxy = await env.proxy((path) => (path === BATCH && seen++ === 0 ? htmlPage(404, 'Not Found') : undefined));
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, retryBaseDelayMs: 5, retryMaxDelayMs: 50, logger: silentLogger });
      enqueue(meter, 20, 'first');
      expect(await meter.flush({ timeoutMs: 30_000 })).toMatchObject({ delivered: 20, dropped: 0 });
      const before = proxy.requests.length;
      enqueue(meter, 400, 'healthy');
      expect(await meter.flush({ timeoutMs: 30_000 })).toMatchObject({ delivered: 400, dropped: 0 });

      const healthy = proxy.requests.slice(before);
      expect(healthy.every((r) => r.path === BATCH && r.status === 201)).toBe(true);
      expect(healthy.length).toBeLessThanOrEqual(8);
      expect(proxy.requests.some((r) => r.path === SINGLE)).toBe(false);
      expect(meter.stats().dropped).toEqual({});
      expectBilledOnce(420);
      await meter.close();
    });

    it.each(['batch', 'single'] as const)('drops nothing through a burst of HTML 404s (delivery: %s)', async (delivery) => {
      let seen = 0;
      const proxy = await env.proxy((path) => (path.startsWith(SINGLE) && seen++ < 12 ? htmlPage(404, 'Not Found') : undefined));
      const drops: DropEvent[] = [];
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, delivery, concurrency: 2, retryBaseDelayMs: 5, retryMaxDelayMs: 50, logger: silentLogger, onDrop: (d) => drops.push(d) });
      enqueue(meter, 50, 'burst');
      const report = await meter.flush({ timeoutMs: 30_000 });

      expect(report).toMatchObject({ delivered: 50, dropped: 0, pending: 0 });
      expect(drops).toEqual([]);
      expect(proxy.requests.filter((r) => r.status === 404)).toHaveLength(12);
      expect(proxy.requests.every((r) => r.path === (delivery === 'batch' ? BATCH : SINGLE))).toBe(true);
      expectBilledOnce(50);
      await meter.close();
    });

    it("verifyCredentials() does not take a proxy's HTML 404 (or a baseUrl that is not PacSpace) for PacSpace", async () => {
      const proxy = await env.proxy(() => htmlPage(404, 'Not Found'));
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, logger: silentLogger });
      await expect(meter.verifyCredentials()).rejects.toMatchObject({ status: 404, pacspaceEnvelope: false });
      const direct = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: env.sandbox().url, logger: silentLogger });
      await expect(direct.verifyCredentials()).resolves.toMatchObject({ latencyMs: expect.any(Number) });
      await Promise.all([meter.close(), direct.close()]);
    });

    it("switches to one delta per request on PacSpace's own JSON 404, and back to batches once a probe finds the endpoint", async () => {
      let routeGone = true;
      const proxy = await env.proxy((path) => (path === BATCH && routeGone ? pacspaceError(404, 'NOT_FOUND', 'No route for POST /api/v1/balance/delta/batch') : undefined));
      const { lines, logger } = keptLines();
      // retryMaxDelayMs: how long single delivery lasts before batches are tried again.
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, retryBaseDelayMs: 5, retryMaxDelayMs: 200, logger });
      enqueue(meter, 5, 'gone');
      expect(await meter.flush({ timeoutMs: 30_000 })).toMatchObject({ delivered: 5, dropped: 0 });
      expect(proxy.requests.map((r) => [r.path, r.items])).toEqual([[BATCH, 5], ...Array(5).fill([SINGLE, 1])]);
      expect(lines.some((line) => line.includes('delivering one delta per request'))).toBe(true);

      routeGone = false;
      // Traffic keeps coming; within a generous bound a probe batch gets through.
      let wave = 0;
      const deadline = Date.now() + 20_000;
      while (!proxy.requests.some((r) => r.path === BATCH && r.status === 201)) {
        if (Date.now() > deadline) throw new Error('the Meter never tried the batch endpoint again');
        enqueue(meter, 3, `wave-${wave++}`);
        await meter.flush({ timeoutMs: 30_000 });
      }
      const before = proxy.requests.length;
      enqueue(meter, 100, 'back');
      expect(await meter.flush({ timeoutMs: 30_000 })).toMatchObject({ delivered: 100, dropped: 0 });
      expect(proxy.requests.slice(before).map((r) => [r.path, r.items])).toEqual([[BATCH, 100]]);
      expectBilledOnce(5 + 3 * wave + 100);
      await meter.close();
    });
  });

  describe("item 4: a 401/403 that is not PacSpace's key error is about the content", () => {
    const HOSTILE = '<script>alert(1)</script>';
    /** A WAF in front of PacSpace: any request whose body carries a script tag gets its HTML 403. */
    const waf = (_path: string, { body }: ProxyExchange) => (body.includes('<script>') ? htmlPage(403, 'Forbidden') : undefined);

    it.each(['batch', 'single'] as const)('refuses only the hostile item, delivering its 99 neighbours (delivery: %s)', async (delivery) => {
      const proxy = await env.proxy(waf);
      const drops: DropEvent[] = [];
      const { lines, logger } = keptLines();
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, delivery, retryBaseDelayMs: 5, logger, onDrop: (d) => drops.push(d) });
      let hostileRef = '';
      for (let i = 0; i < 100; i++) {
        const result = meter.enqueue({ customerId: `cust-${i % 9}`, delta: -1, reason: 'api_request', requestId: `w-${i}`, metadata: { note: i === 37 ? HOSTILE : 'plain' } });
        if (i === 37 && result.accepted) hostileRef = result.referenceId;
      }
      const report = await meter.flush({ timeoutMs: 30_000 });

      expect(report).toMatchObject({ delivered: 99, failed: 1, dropped: 1, pending: 0 });
      expect(meter.stats().dropped).toEqual({ rejected: 1 });
      expect(drops).toMatchObject([{ reason: 'rejected', referenceId: hostileRef }]);
      expect((drops[0]!.error as PacSpaceApiError).status).toBe(403);
      expect(drops[0]!.error.message).toContain('not PacSpace');
      expect(lines.some((line) => line.includes('refused the API key'))).toBe(false);
      expectBilledOnce(99);
      expect(env.sandbox().ledger().deltas.some((d) => d.referenceId === hostileRef)).toBe(false);
      if (delivery === 'batch') expect(proxy.requests.length).toBeLessThanOrEqual(16);
      await meter.close();
    });

    it("still treats PacSpace's own JSON 403 as the key: every delta unauthorized, one request, no halving", async () => {
      const drops: DropEvent[] = [];
      const { lines, logger } = keptLines();
      // The sandbox refuses a live key with 403 API_KEY_ENVIRONMENT_HOST_MISMATCH in its envelope.
      const meter = createMeter({ apiKey: 'pk_live_wrong.environment', baseUrl: env.sandbox().url, retryBaseDelayMs: 5, logger, onDrop: (d) => drops.push(d) });
      enqueue(meter, 100, 'live');
      await meter.flush({ timeoutMs: 30_000 });

      expect(meter.stats()).toMatchObject({ dropped: { unauthorized: 100 }, failed: { API_KEY_ENVIRONMENT_HOST_MISMATCH: 100 }, requests: 1 });
      expect(drops.every((d) => d.reason === 'unauthorized')).toBe(true);
      expect(lines.some((line) => line.includes('refused the API key'))).toBe(true);
      expect(env.sandbox().ledger().requests).toHaveLength(1);
      await meter.close();
    });

    it('resolves emit() for an honest delta that shared a batch with the hostile one', async () => {
      const proxy = await env.proxy(waf);
      const meter = createMeter({ apiKey: env.sandbox().apiKey, baseUrl: proxy.url, retryBaseDelayMs: 5, logger: silentLogger });
      meter.enqueue({ customerId: 'bad', delta: -1, reason: 'api_request', requestId: 'hostile', metadata: { note: HOSTILE } });
      const receipt: DeliveryReceipt = await meter.emit({ customerId: 'good', delta: -5, reason: 'export', requestId: 'honest' });
      expect(receipt).toMatchObject({ referenceId: 'metering:export:good:honest', deduplicated: false });
      await meter.flush({ timeoutMs: 30_000 });
      expect(meter.stats()).toMatchObject({ delivered: 1, dropped: { rejected: 1 } });
      await meter.close();
    });
  });
});
