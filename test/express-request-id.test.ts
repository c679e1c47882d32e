// Issue #3, "Must show": a client that sends its own X-Request-Id on every call is still billed per
// call unless the app trusts that header; with the opt-in, a retried call with the same id is
// billed once. Real Express, real HTTP, the sandbox over loopback.
import { PROCESS_INSTANCE_ID, createMeter, type Meter } from '@pacspace-metering/core';
import { meterRequests, type MeterRequestsOptions } from '@pacspace-metering/express';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { listen } from '../packages/express/test-support/harness.js';

describe('Express request ids -> sandbox', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 3 });
  });
  afterEach(() => sandbox.reset());
  afterAll(() => sandbox.close());

  /** Runs `calls` against GET /v1/search, metered with `options`; returns echoed ids and the ledger after a flush. */
  async function run(options: Partial<MeterRequestsOptions>, calls: Array<Record<string, string>>, upstream?: express.RequestHandler) {
    const meter: Meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'search-api', retryBaseDelayMs: 5, retryMaxDelayMs: 50 });
    const app = express();
    if (upstream) app.use(upstream);
    app.use(meterRequests(meter, { customerId: () => 'acme', ...options }));
    app.get('/v1/search', (_req, res) => void res.json({ hits: [] }));
    const running = await listen(app);
    try {
      const echoed: Array<string | null> = [];
      for (const headers of calls) {
        const res = await fetch(`${running.url}/v1/search`, { headers });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        echoed.push(res.headers.get('x-request-id'));
      }
      await running.waitForDone(calls.length);
      const report = await meter.flush({ timeoutMs: 30_000 });
      expect(report.timedOut).toBe(false);
      return { echoed, ledger: sandbox.ledger(), stats: meter.stats() };
    } finally {
      await running.close();
      await meter.close();
    }
  }

  it('bills every call when the client repeats its own X-Request-Id and the header is not trusted (default)', async () => {
    const replayed = { 'x-request-id': 'same-id-every-time' };
    const { echoed, ledger } = await run({}, [replayed, replayed, replayed, replayed, replayed]);
    expect(ledger.deltas).toHaveLength(5);
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(new Set(echoed).size).toBe(5);
    expect(echoed).not.toContain('same-id-every-time');
    expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual(echoed.map((id) => `search-api:api_request:acme:${id}`).sort());
  });

  it('with requestIdHeader, a retried call (same id) is billed once and distinct ids once each', async () => {
    const { echoed, ledger, stats } = await run({ requestIdHeader: 'x-request-id' }, [
      { 'x-request-id': 'gw-0001' },
      { 'x-request-id': 'gw-0001' }, // the client retried after a timeout
      { 'x-request-id': 'gw-0002' },
      { 'x-request-id': 'gw-0001' },
    ]);
    expect(echoed).toEqual(['gw-0001', 'gw-0001', 'gw-0002', 'gw-0001']);
    expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual(['search-api:api_request:acme:gw-0001', 'search-api:api_request:acme:gw-0002']);
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    // The retries reached PacSpace and were recognised as replays (by referenceId), not billed.
    expect(stats.deduplicated).toBe(2);
    expect(ledger.counts.committed).toBe(2);
  });

  it('with requestIdHeader, a hostile header value is ignored and the call billed under a fresh id', async () => {
    const { echoed, ledger } = await run({ requestIdHeader: 'x-request-id' }, [{ 'x-request-id': 'x'.repeat(500) }, { 'x-request-id': 'a b' }]);
    expect(ledger.deltas).toHaveLength(2);
    for (const id of echoed) expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("uses pino-http's req.id, qualified per process so counters never collide across restarts", async () => {
    const logging = pinoHttp({ logger: pino({ level: 'silent' }) });
    const { echoed, ledger } = await run({}, [{}, {}, { 'x-request-id': 'ignored' }], logging);
    expect(echoed).toEqual([`${PROCESS_INSTANCE_ID}-1`, `${PROCESS_INSTANCE_ID}-2`, `${PROCESS_INSTANCE_ID}-3`]);
    expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual(echoed.map((id) => `search-api:api_request:acme:${id}`).sort());
  });
});
