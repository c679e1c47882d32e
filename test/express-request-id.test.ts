// Issue #3, "Must show": a client that sends its own X-Request-Id on every call is still billed per
// call unless the app trusts that header; with the opt-in, a retried call with the same id is
// billed once. Issue #13 (item 10): the same holds for an upstream req.id (pino-http's genReqId
// recipe copies the header), and a trusted id replayed on another route is another call: billed,
// never a 409. Real Express, real HTTP, the sandbox over loopback.
import { PROCESS_INSTANCE_ID, createMeter, type Meter } from '@pacspace-metering/core';
import { meterRequests, type MeterRequestsOptions } from '@pacspace-metering/express';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { createHash, randomUUID } from 'node:crypto';
import { listen } from '../packages/express/test-support/harness.js';

/** What a client-chosen id is bound to: `.{16 hex of sha256(method + ' ' + URL)}`. */
const boundTo = (call: string) => `.${createHash('sha256').update(call).digest('hex').slice(0, 16)}`;
const SEARCH = boundTo('GET /v1/search');
const EXPORT = boundTo('GET /v1/export');

describe('Express request ids -> sandbox', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 3 });
  });
  afterEach(() => sandbox.reset());
  afterAll(() => sandbox.close());

  /**
   * Runs `calls` (GET /v1/search unless a call names another path: /v1/search and /v1/export
   * exist), metered with `options`; returns echoed ids, the ledger after a flush, stats and errors.
   */
  async function run(options: Partial<MeterRequestsOptions>, calls: Array<Record<string, string>>, upstream?: express.RequestHandler) {
    const errors: Error[] = [];
    const meter: Meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'search-api', retryBaseDelayMs: 5, retryMaxDelayMs: 50, onError: (err) => void errors.push(err) });
    const app = express();
    if (upstream) app.use(upstream);
    app.use(meterRequests(meter, { customerId: () => 'acme', responseHeader: 'x-request-id', ...options }));
    app.get('/v1/search', (_req, res) => void res.json({ hits: [] }));
    app.get('/v1/export', (_req, res) => void res.json({ rows: [] }));
    const running = await listen(app);
    try {
      const echoed: Array<string | null> = [];
      for (const { path = '/v1/search', ...headers } of calls) {
        const res = await fetch(`${running.url}${path}`, { headers });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        echoed.push(res.headers.get('x-request-id'));
      }
      await running.waitForDone(calls.length);
      const report = await meter.flush({ timeoutMs: 30_000 });
      expect(report.timedOut).toBe(false);
      return { echoed, ledger: sandbox.ledger(), stats: meter.stats(), errors };
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
    expect(echoed).toEqual([`gw-0001${SEARCH}`, `gw-0001${SEARCH}`, `gw-0002${SEARCH}`, `gw-0001${SEARCH}`]);
    expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual([`search-api:api_request:acme:gw-0001${SEARCH}`, `search-api:api_request:acme:gw-0002${SEARCH}`]);
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

  it("does not trust pino-http's req.id by default, even with the genReqId recipe that copies X-Request-Id: 20 replays bill 20 calls", async () => {
    const logging = pinoHttp({ logger: pino({ level: 'silent' }), genReqId: (req) => (req.headers['x-request-id'] as string | undefined) ?? randomUUID() });
    const replayed = { 'x-request-id': 'cut-my-bill' };
    const { echoed, ledger, stats } = await run({}, Array.from({ length: 20 }, () => replayed), logging);
    expect(ledger.deltas).toHaveLength(20);
    expect(stats.deduplicated).toBe(0);
    expect(echoed.some((id) => id?.includes('cut-my-bill'))).toBe(false);
  });

  it("with trustUpstreamId, uses pino-http's req.id bound to the call, qualified per process so counters never collide across restarts", async () => {
    const logging = pinoHttp({ logger: pino({ level: 'silent' }) });
    const { echoed, ledger } = await run({ trustUpstreamId: true }, [{}, {}, { 'x-request-id': 'ignored' }], logging);
    expect(echoed).toEqual([`${PROCESS_INSTANCE_ID}-1${SEARCH}`, `${PROCESS_INSTANCE_ID}-2${SEARCH}`, `${PROCESS_INSTANCE_ID}-3${SEARCH}`]);
    expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual(echoed.map((id) => `search-api:api_request:acme:${id}`).sort());
  });

  it.each([
    ['a trusted header', { requestIdHeader: 'x-request-id' }, undefined],
    ['a trusted upstream req.id', { trustUpstreamId: true }, pinoHttp({ logger: pino({ level: 'silent' }), genReqId: (req) => req.headers['x-request-id'] as string })],
  ])('with %s, the same id on another route is another call: both billed, no 409, no integrity error', async (_name, options, upstream) => {
    const id = { 'x-request-id': 'reused-id' };
    const { echoed, ledger, stats, errors } = await run(options, [id, { ...id, path: '/v1/export' }, { ...id, path: '/v1/export' }], upstream);
    expect(echoed).toEqual([`reused-id${SEARCH}`, `reused-id${EXPORT}`, `reused-id${EXPORT}`]);
    // Two different calls, two bills; the repeat of the export is its retry, recognised as a replay.
    expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual([`search-api:api_request:acme:reused-id${EXPORT}`, `search-api:api_request:acme:reused-id${SEARCH}`]);
    expect(ledger.counts.conflicts).toBe(0);
    expect(stats.deduplicated).toBe(1);
    expect(stats.dropped).toEqual({});
    expect(errors).toEqual([]);
  });
});
