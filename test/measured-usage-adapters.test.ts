// Issue 21 on Fastify and Hono (parity with Express where cheap): zero usage is not billed, not a
// drop, health up; several deltas per call, each referenceId once, per-reason totals exact under
// API faults. Real apps on port 0, real HTTP, the sandbox.
import { getRequestListener } from '@hono/node-server';
import { createMeter, createMeterHealth, NOTHING_TO_BILL, type Meter } from '@pacspace-metering/core';
import { fastifyMetering } from '@pacspace-metering/fastify';
import { meterRequests as honoMetering } from '@pacspace-metering/hono';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import Fastify from 'fastify';
import { Hono } from 'hono';
import type { RequestListener } from 'node:http';
import { fastifyListener } from '../packages/fastify/test-support/harness.js';
import { listen, pool } from '../packages/express/test-support/harness.js';

type Usage = { input: number; output: number; cached: boolean };

/** Token counts a call used, from its query: `?input=3&output=5&cached=1`. */
function usageOf(url: string): Usage {
  const query = new URL(url, 'http://x').searchParams;
  return { input: Number(query.get('input')), output: Number(query.get('output')), cached: query.get('cached') === '1' };
}

const tokens = (usage: Usage) => (usage.cached ? NOTHING_TO_BILL : [{ reason: 'input_tokens', delta: -usage.input }, { reason: 'output_tokens', delta: -usage.output }]);

const apps: Record<string, (meter: Meter) => RequestListener> = {
  fastify: (meter) => {
    const app = Fastify();
    app.register(fastifyMetering, { meter, customerId: (request) => request.headers['x-customer'] as string, deltas: (request) => tokens(usageOf(request.url)) });
    app.get('/v1/completions', async () => ({ ok: true }));
    app.get('/v1/zero', { config: { metering: { reason: 'search', delta: () => 0 } } }, async () => ({ ok: true }));
    return fastifyListener(app);
  },
  hono: (meter) => {
    const app = new Hono();
    app.use('/v1/completions', honoMetering(meter, { customerId: (c) => c.req.header('x-customer'), deltas: (c) => tokens(usageOf(c.req.url)) }));
    app.use('/v1/zero', honoMetering(meter, { customerId: (c) => c.req.header('x-customer'), reason: 'search', delta: () => 0 }));
    app.get('/v1/completions', (c) => c.json({ ok: true }));
    app.get('/v1/zero', (c) => c.json({ ok: true }));
    return getRequestListener(app.fetch);
  },
};

describe.each(Object.keys(apps))('issue 21 on %s', (name) => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 21 });
  });
  afterAll(() => sandbox.close());

  it('bills nothing for zero usage (cached, 0), counts it apart from drops, keeps health up; bills two deltas per call exactly once under faults', async () => {
    sandbox.setFaults({ serverError: { rate: 0.15, statuses: [503] }, commitThenDrop: { rate: 0.1 } });
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: name, retryBaseDelayMs: 5, retryMaxDelayMs: 100 });
    const running = await listen(apps[name]!(meter));
    try {
      const expected: Record<string, number> = {};
      const calls = Array.from({ length: 300 }, (_, i) => async () => {
        const customer = `cust-${i % 3}`;
        const usage = { input: 1 + (i % 7), output: 2 + (i % 11), cached: i % 10 === 0 };
        if (!usage.cached) {
          expected[`${customer}/input_tokens`] = (expected[`${customer}/input_tokens`] ?? 0) - usage.input;
          expected[`${customer}/output_tokens`] = (expected[`${customer}/output_tokens`] ?? 0) - usage.output;
        }
        const res = await fetch(`${running.url}/v1/completions?input=${usage.input}&output=${usage.output}&cached=${usage.cached ? 1 : 0}`, { headers: { 'x-customer': customer } });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      });
      await pool(calls, 8);
      const zero = await fetch(`${running.url}/v1/zero`, { headers: { 'x-customer': 'acme' } });
      expect(zero.status).toBe(200);
      await zero.arrayBuffer();
      await running.waitForDone(301);
      const report = await meter.flush({ timeoutMs: 60_000 });
      expect(report).toMatchObject({ failed: 0, dropped: 0, pending: 0, timedOut: false });
      expect(meter.stats()).toMatchObject({ dropped: {}, skipped: { nothing_to_bill: 30, zero_delta: 1 } });
      expect(createMeterHealth(meter).check()).toMatchObject({ healthy: true });
      const ledger = sandbox.ledger();
      expect(duplicateReferenceIds(ledger)).toEqual([]);
      expect(ledger.deltas).toHaveLength(540);
      const billed: Record<string, number> = {};
      for (const d of ledger.deltas) billed[`${d.customerId}/${d.reason}`] = (billed[`${d.customerId}/${d.reason}`] ?? 0) + d.delta;
      expect(billed).toEqual(expected);
    } finally {
      await running.close();
      await meter.close();
    }
  });
});
