// Issue 21, Express: zero usage, several deltas per call from the handler's result, SSE billed by
// what was delivered (ended or cut by the client), the billing request id on skipped routes.
// Real Express on port 0, real HTTP, the sandbox with faults.
import { createMeter, createMeterHealth, NOTHING_TO_BILL, silentLogger, type Meter } from '@pacspace-metering/core';
import { billingRequestId, meteredRoute, meterRequests, meterStream, recordResult } from '@pacspace-metering/express';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { request } from 'node:http';
import { listen, pool, type RunningApp } from '../packages/express/test-support/harness.js';
import { trackUnhandledRejections, waitFor } from './support/wait.js';

interface Completion {
  cached: boolean;
  usage: { inputTokens: number; outputTokens: number };
}

/** Opens an SSE stream, reads `events` events, then destroys the socket; resolves once closed. */
function readThenAbort(url: string, events: number): Promise<number> {
  return new Promise((resolve) => {
    let seen = 0;
    const req = request(url, { agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        seen += chunk.split('\n\n').filter((e) => e.startsWith('data:')).length;
        if (seen >= events) req.destroy();
      });
      res.once('error', () => undefined);
    });
    req.once('error', () => undefined);
    req.once('close', () => resolve(seen));
    req.end();
  });
}

describe('issue 21 on Express: billing what the work measured', () => {
  let sandbox: Sandbox;
  let app: RunningApp | undefined;
  let meter: Meter | undefined;
  const unhandled = trackUnhandledRejections();

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 2121 });
  });
  afterEach(async () => {
    await app?.close();
    await meter?.close({ timeoutMs: 10_000 });
    app = undefined;
    meter = undefined;
    sandbox.setFaults({});
    sandbox.reset();
  });
  afterAll(async () => {
    await sandbox.close();
    expect(unhandled.count()).toBe(0);
    unhandled.stop();
  });

  function newMeter(scope: string, onError?: (err: Error) => void): Meter {
    meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope, retryBaseDelayMs: 5, retryMaxDelayMs: 100, concurrency: 8, onError, logger: onError && silentLogger });
    return meter;
  }

  it('does not bill zero usage, counts it apart from drops, and keeps health up', async () => {
    const m = newMeter('zero');
    const server = express();
    server.post('/v1/cached', ...meteredRoute(m, (): Completion => ({ cached: true, usage: { inputTokens: 0, outputTokens: 0 } }), {
      customerId: () => 'acme',
      delta: (_req, _res, result) => (result.cached ? NOTHING_TO_BILL : -result.usage.outputTokens),
    }));
    server.post('/v1/zero', meterRequests(m, { customerId: () => 'acme', delta: (_req, res) => -(res.locals.tokens as number) }), (_req, res) => {
      res.locals.tokens = 0;
      res.json({ tokens: 0 });
    });
    app = await listen(server);
    for (const path of ['/v1/cached', '/v1/zero', '/v1/cached']) expect((await fetch(app.url + path, { method: 'POST' })).status).toBe(200);
    await app.waitForDone(3);
    await m.flush({ timeoutMs: 10_000 });
    expect(m.stats()).toMatchObject({ accepted: 0, dropped: {}, skipped: { nothing_to_bill: 2, zero_delta: 1 } });
    expect(createMeterHealth(m).check()).toMatchObject({ healthy: true, ready: true });
    expect(sandbox.ledger().deltas).toEqual([]);
  });

  it('bills two deltas per call for 1,000 calls under faults: each referenceId once, per-reason totals exact', async () => {
    const m = newMeter('llm');
    sandbox.setFaults({ serverError: { rate: 0.15, statuses: [503] }, resetBeforeProcessing: { rate: 0.05 }, commitThenDrop: { rate: 0.1 } });
    const server = express();
    server.use(express.json());
    server.post('/v1/completions', ...meteredRoute(m, (req): Completion => ({ cached: false, usage: { inputTokens: req.body.input as number, outputTokens: req.body.output as number } }), {
      customerId: (req) => req.header('x-customer') ?? undefined,
      deltas: (_req, _res, result) => [
        { reason: 'input_tokens', delta: -result.usage.inputTokens },
        { reason: 'output_tokens', delta: -result.usage.outputTokens, metadata: { model: 'small' } },
      ],
    }));
    app = await listen(server);
    const expected: Record<string, number> = {};
    const url = app.url;
    await pool(Array.from({ length: 1000 }, (_, i) => async () => {
      const customer = `cust-${i % 5}`;
      const input = 1 + (i % 17);
      const output = 3 + (i % 29);
      expected[`${customer}/input_tokens`] = (expected[`${customer}/input_tokens`] ?? 0) - input;
      expected[`${customer}/output_tokens`] = (expected[`${customer}/output_tokens`] ?? 0) - output;
      const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-customer': customer }, body: JSON.stringify({ input, output }) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }), 16);
    await app.waitForDone(1000);
    const report = await m.flush({ timeoutMs: 120_000 });
    expect(report).toMatchObject({ failed: 0, dropped: 0, pending: 0, timedOut: false });
    const ledger = sandbox.ledger();
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.deltas).toHaveLength(2000);
    const billed: Record<string, number> = {};
    for (const d of ledger.deltas) billed[`${d.customerId}/${d.reason}`] = (billed[`${d.customerId}/${d.reason}`] ?? 0) + d.delta;
    expect(billed).toEqual(expected);
  });

  it('refuses a list with a repeated reason, naming the field', async () => {
    const errors: Error[] = [];
    const m = newMeter('dup', (err) => void errors.push(err));
    const server = express();
    server.get('/v1/pages', meterRequests(m, { customerId: () => 'acme', deltas: () => [{ reason: 'pages', delta: -1 }, { reason: 'pages', delta: -2 }] }), (_req, res) => void res.json({}));
    app = await listen(server);
    await (await fetch(app.url + '/v1/pages')).arrayBuffer();
    await app.waitForDone(1);
    expect(m.stats().dropped).toEqual({ invalid: 1 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: 'deltas[1].reason' });
    expect(errors[0]!.message).toMatch(/'pages' is repeated/);
  });

  describe.each([
    ['without faults', {}],
    ['under API faults', { serverError: { rate: 0.3, statuses: [503] }, commitThenDrop: { rate: 0.2 } }],
  ])('SSE %s', (_name, faults) => {
    it('bills exactly N units once for a stream aborted after N events, and the total once for one that ends', async () => {
      const m = newMeter('sse');
      sandbox.setFaults(faults);
      const server = express();
      server.get('/v1/stream/:events', (req, res) => {
        const total = Number(req.params.events);
        const usage = meterStream(m, req, res, { customerId: req.header('x-customer') ?? 'acme' });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        usage.add('input_tokens', 4);
        for (let i = 0; i < Math.min(total, 7); i++) {
          res.write(`data: token-${i}\n\n`);
          usage.add('output_tokens', 1);
        }
        // The aborted case sends 7 events then waits for the client to go; the others end.
        if (total <= 7) res.end();
      });
      server.get('/v1/broken', (req, res) => {
        // Counted, then failed before sending anything: Express answers 500, nothing is billed.
        meterStream(m, req, res, { customerId: 'acme' }).add('input_tokens', 4);
        throw new Error('model unavailable');
      });
      app = await listen(server);
      expect(await readThenAbort(`${app.url}/v1/stream/100`, 7)).toBe(7);
      const ended = await fetch(`${app.url}/v1/stream/5`);
      expect((await ended.text()).split('\n\n').filter(Boolean)).toHaveLength(5);
      expect((await fetch(`${app.url}/v1/broken`)).status).toBe(500);
      await app.waitForDone(3);
      await waitFor(() => m.stats().accepted === 4, 'four stream deltas accepted');
      await m.flush({ timeoutMs: 60_000 });
      const ledger = sandbox.ledger();
      expect(duplicateReferenceIds(ledger)).toEqual([]);
      const rows = ledger.deltas.map((d) => [d.reason, d.delta, d.metadata?.stream]).sort();
      expect(rows).toEqual([['input_tokens', -4, 'aborted'], ['input_tokens', -4, 'ended'], ['output_tokens', -5, 'ended'], ['output_tokens', -7, 'aborted']]);
      expect(m.stats().dropped).toEqual({});
    });
  });

  it('bills a chunked (non-SSE) response by the rows it wrote, once, under the echoed request id', async () => {
    const m = newMeter('chunked');
    const server = express();
    server.get('/v1/export', meterRequests(m, { customerId: () => 'acme', reason: 'export_call', responseHeader: 'x-request-id' }), (req, res) => {
      const usage = meterStream(m, req, res, { customerId: 'acme', metadata: { format: 'csv' } });
      res.setHeader('content-type', 'text/csv');
      for (let row = 0; row < 12; row++) {
        res.write(`${row},value\n`);
        usage.add('rows_exported', 1);
      }
      res.end();
    });
    app = await listen(server);
    const res = await fetch(app.url + '/v1/export');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect((await res.text()).split('\n').filter(Boolean)).toHaveLength(12);
    await app.waitForDone(1);
    await m.flush({ timeoutMs: 10_000 });
    const id = res.headers.get('x-request-id');
    expect(sandbox.ledger().deltas.map((d) => [d.referenceId, d.delta, d.metadata?.stream ?? null]).sort()).toEqual([
      [`chunked:export_call:acme:${id}`, -1, null],
      [`chunked:rows_exported:acme:${id}`, -12, 'ended'],
    ]);
  });

  it('gives handler code the id a route is billed under, on skipped routes too', async () => {
    const m = newMeter('ids');
    const seen: Record<string, string> = {};
    const server = express();
    server.use(meterRequests(m, { customerId: () => 'acme', skip: (req) => req.path === '/v1/manual', responseHeader: 'x-request-id' }));
    server.get('/v1/auto', (req, res) => {
      seen.auto = billingRequestId(req, res);
      res.json({});
    });
    server.get('/v1/manual', (req, res) => {
      seen.manual = billingRequestId(req, res);
      // Billing by hand, deterministically: a retry of this handler for the same request bills once.
      for (let i = 0; i < 2; i++) m.enqueue({ customerId: 'acme', delta: -3, reason: 'manual_export', requestId: billingRequestId(req, res) });
      res.json(recordResult(res, { ok: true }));
    });
    app = await listen(server);
    const auto = await fetch(app.url + '/v1/auto');
    await auto.arrayBuffer();
    await (await fetch(app.url + '/v1/manual')).arrayBuffer();
    await app.waitForDone(2);
    await m.flush({ timeoutMs: 10_000 });
    expect(auto.headers.get('x-request-id')).toBe(seen.auto);
    expect(sandbox.ledger().deltas.map((d) => d.referenceId).sort()).toEqual([`ids:api_request:acme:${seen.auto}`, `ids:manual_export:acme:${seen.manual}`]);
  });
});
