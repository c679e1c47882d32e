// Issue #7, "Must show": aggregation under mixed traffic across 3 app instances (3 Express apps,
// 3 meters, 3 aggregators in one process) aggregating the same customers in the same windows, with
// one instance restarted inside a window (its early flush on shutdown, then the new process's sums
// for the rest of that window), through injected 5xx, resets and commit-then-drop. The ledger's sum
// per customer is exactly the successful requests times the delta; nothing is swallowed as a
// replay, nothing is refused as a 409, and far fewer calls reach the API than requests were served.
import { createAggregatingMeter, createMeter, type AggregatingMeter } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import { duplicateReferenceIds, startSandbox, sumByCustomer, type Sandbox } from '@pacspace-metering/sandbox';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trackUnhandledRejections, waitFor } from './support/wait.js';

const SCOPE = 'agg-e2e';
const DELTA = -2;
const CUSTOMERS = ['cust-a', 'cust-b', 'cust-c', 'cust-d'];
const T0 = Date.UTC(2025, 2, 1, 12, 0, 0);
type Kind = 'success' | 'client-error' | 'throws';

interface Instance {
  label: string;
  aggregator: AggregatingMeter;
  server: Server;
  url: string;
  done(): number;
}

describe('aggregation across 3 instances and a restart', () => {
  let sandbox: Sandbox;
  let now = T0;
  const unhandled = trackUnhandledRejections();

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 7, faults: { serverError: { rate: 0.15 }, resetBeforeProcessing: { rate: 0.05 }, commitThenDrop: { rate: 0.1, requests: [2, 4] } } });
  });
  afterAll(async () => {
    unhandled.stop();
    await sandbox.close();
  });

  async function startInstance(label: string): Promise<Instance> {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: SCOPE, concurrency: 4, retryBaseDelayMs: 2, retryMaxDelayMs: 20 });
    const aggregator = createAggregatingMeter(meter, { interval: '1m', instanceId: label, now: () => now });
    const app = express();
    // The Express middleware takes the aggregator unchanged: it has the Meter's surface.
    app.use(meterRequests(aggregator, { customerId: (req) => String(req.query.customer), delta: DELTA, reason: 'search' }));
    app.get('/v1/search', (req, res) => {
      const kind = req.query.kind as Kind;
      if (kind === 'throws') throw new Error('handler bug');
      if (kind === 'client-error') return void res.status(422).json({ error: 'bad query' });
      res.json({ hits: [] });
    });
    app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => void res.status(500).json({ error: 'internal' }));
    const server = createServer(app);
    let done = 0;
    server.on('request', (_req, res) => res.once('close', () => done++));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { label, aggregator, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, done: () => done };
  }

  async function stopServer(instance: Instance): Promise<void> {
    instance.server.closeAllConnections();
    await new Promise<void>((resolve) => instance.server.close(() => resolve()));
  }

  /** Sends `count` requests round-robin over the instances (12 at a time); returns the successes per customer. */
  async function traffic(instances: Instance[], count: number, seed: number): Promise<Record<string, number>> {
    const successes: Record<string, number> = {};
    const before = instances.map((i) => i.done());
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const n = i + seed;
        const customer = CUSTOMERS[n % CUSTOMERS.length]!;
        const kind: Kind = n % 5 === 3 ? 'client-error' : n % 5 === 4 ? 'throws' : 'success';
        const target = instances[i % instances.length]!;
        const res = await fetch(`${target.url}/v1/search?customer=${customer}&kind=${kind}`);
        await res.arrayBuffer();
        expect(res.status).toBe(kind === 'success' ? 200 : kind === 'client-error' ? 422 : 500);
        if (kind === 'success') successes[customer] = (successes[customer] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
    // Every response is done on the server side (the middleware's finish listeners have run).
    await waitFor(() => instances.every((inst, k) => inst.done() - before[k]! >= Math.floor(count / instances.length)), 'all responses done');
    return successes;
  }

  it('bills exactly successes x delta per customer, with no 409 and no swallowed flush', async () => {
    const total: Record<string, number> = {};
    const add = (part: Record<string, number>) => {
      for (const [customer, n] of Object.entries(part)) total[customer] = (total[customer] ?? 0) + n;
    };

    // Window 12:00-12:01: three instances serve the same customers.
    now = T0 + 5_000;
    const web1 = await startInstance('web-1');
    const web2 = await startInstance('web-2');
    const web3 = await startInstance('web-3');
    add(await traffic([web1, web2, web3], 400, 0));

    // web-2 restarts inside the same window: its shutdown flushes a partial sum early...
    now = T0 + 20_000;
    await stopServer(web2);
    const shutdown = await web2.aggregator.close({ timeoutMs: 30_000 });
    expect(shutdown.timedOut).toBe(false);
    expect(shutdown.pending).toBe(0);
    // ...and the new process (same label, new instance id) keeps aggregating the rest of that window.
    const web2b = await startInstance('web-2');
    expect(web2b.aggregator.instanceId).not.toBe(web2.aggregator.instanceId);
    // web-1 flushes early too, in the same process (as the Nest module does with a meter it was
    // given): the rest of its window goes out as a new part with its own referenceId.
    const early = await web1.aggregator.flush({ timeoutMs: 30_000 });
    expect(early).toMatchObject({ timedOut: false, pending: 0 });
    now = T0 + 40_000;
    add(await traffic([web1, web2b, web3], 400, 1));

    // Window 12:01-12:02: the first requests of the new window close the old sums (before any timer).
    now = T0 + 65_000;
    add(await traffic([web1, web2b, web3], 400, 2));
    const rolled = web1.aggregator.stats().aggregation;
    expect(rolled.aggregatesEnqueued).toBeGreaterThan(0);

    // Graceful shutdown of everyone.
    for (const instance of [web1, web2b, web3]) {
      await stopServer(instance);
      const report = await instance.aggregator.close({ timeoutMs: 60_000 });
      expect(report).toMatchObject({ timedOut: false, pending: 0 });
    }

    const ledger = sandbox.ledger();
    const expected = Object.fromEntries(Object.entries(total).map(([customer, n]) => [customer, n * DELTA]));
    expect(Object.values(total).reduce((a, b) => a + b, 0)).toBe(720); // 3 x 400 requests, 3 in 5 succeed
    expect(sumByCustomer(ledger)).toEqual(expected);
    expect(ledger.counts.conflicts).toBe(0);
    expect(duplicateReferenceIds(ledger)).toEqual([]);

    // One delta per (instance, customer, window, part): 4 instance ids in the first window.
    const firstWindow = ledger.deltas.filter((d) => d.referenceId!.includes('agg.20250301T120000Z.'));
    const instancesInFirst = new Set(firstWindow.map((d) => d.referenceId!.split(':')[3]!.split('.')[2]));
    expect(instancesInFirst.size).toBe(4);
    expect(ledger.deltas.every((d) => d.reason === 'search' && d.referenceId!.startsWith(`${SCOPE}:search:`))).toBe(true);
    expect(ledger.deltas.reduce((n, d) => n + (d.metadata!.aggregatedRequests as number), 0)).toBe(720);

    // The faults happened and were absorbed; the API saw far fewer calls than requests were served.
    const outcomes = new Set(ledger.requests.map((r) => r.outcome));
    expect(outcomes).toContain('fault:server-error');
    expect(outcomes).toContain('fault:commit-drop');
    const web1Parts = firstWindow.filter((d) => d.customerId === 'cust-a' && d.referenceId!.includes('.web-1-'));
    expect(web1Parts).toHaveLength(2);
    expect(ledger.deltas.length).toBeLessThanOrEqual(5 * 4 + 3 * 4);
    expect(ledger.counts.requests).toBeLessThan(720 / 5);
    expect(unhandled.count()).toBe(0);
  });
});
