// Issue #12, "Must show": the queue-full fold. PacSpace is down and the queue is small; 20,000
// successful calls across 10 customers go through a real Express app. When PacSpace returns, the
// ledger's per-customer totals equal what was billed, exactly: the queue's deltas one by one, the
// rest as one summed delta per (customer, reason).
import { createMeter, type DropEvent } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import { duplicateReferenceIds, startSandbox, sumByCustomer, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { Agent, request } from 'node:http';
import { listen } from '../packages/express/test-support/harness.js';
import { waitFor } from './support/wait.js';

const CUSTOMERS = Array.from({ length: 10 }, (_, i) => `cust-${i}`);
const CALLS = 20_000;
/** Prices with fractions, so the sums must be exact, not merely close. */
const PRICE = { search: 0.1, export: 2.5 } as const;

describe('a full queue folds deltas into per-customer sums', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 12 });
  });
  afterAll(() => sandbox.close());

  it('bills the exact per-customer totals of 20,000 calls made while PacSpace was down', async () => {
    await sandbox.stop();
    const drops: DropEvent[] = [];
    // Quick retries, and never given up however long the outage lasts on a slow machine: a delta
    // given up would free a queue slot for one that should have been folded.
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'fold', maxQueueSize: 300, retryBaseDelayMs: 10, retryMaxDelayMs: 200, maxAttempts: 1_000_000, onDrop: (d) => drops.push(d) });
    const app = express();
    app.get('/v1/:kind', meterRequests(meter, { customerId: (req) => req.get('x-customer'), reason: (req) => String(req.params.kind), delta: (req) => -PRICE[req.params.kind as keyof typeof PRICE] }), (_req, res) => void res.json({ ok: true }));
    const running = await listen(app);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const expected: Record<string, number> = {};
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < CALLS; i = next++) {
        const customer = CUSTOMERS[i % CUSTOMERS.length]!;
        const kind = i % 7 === 0 ? 'export' : 'search';
        const status = await new Promise<number>((resolve, reject) => {
          const req = request(`${running.url}/v1/${kind}`, { agent, headers: { 'x-customer': customer } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        });
        expect(status).toBe(200);
        expected[customer] = (expected[customer] ?? 0) - PRICE[kind];
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await running.waitForDone(CALLS);

    const during = meter.stats();
    // One comparison, so that a failure shows every figure at once. At most one open sum per
    // (customer, reason): 10 customers x 2 reasons.
    expect({ accepted: during.accepted, held: during.queued + during.inFlight, folded: during.folded, overflow: during.overflow, dropped: during.dropped, delivered: during.delivered }).toEqual({
      accepted: CALLS, held: 300, folded: CALLS - 300, overflow: { sums: 20, deltas: CALLS - 300 }, dropped: {}, delivered: 0,
    });

    await sandbox.start();
    const report = await meter.flush({ timeoutMs: 60_000 });
    expect(report).toMatchObject({ failed: 0, dropped: 0, pending: 0, timedOut: false });
    const ledger = sandbox.ledger();
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    const billed = sumByCustomer(ledger);
    // Equal up to floating-point addition order (1e-9), far below a cent.
    for (const customer of CUSTOMERS) expect(billed[customer]).toBeCloseTo(expected[customer]!, 9);
    // Each sum is one delta with its own referenceId and says how many deltas it stands for.
    const sums = ledger.deltas.filter((d) => d.referenceId!.includes(':overflow.'));
    expect(sums).toHaveLength(20);
    expect(sums.reduce((n, d) => n + ((d.metadata?.overflow as { deltas: number }).deltas), 0)).toBe(CALLS - 300);
    expect(ledger.deltas).toHaveLength(300 + 20);
    expect(drops).toEqual([]);
    await meter.close();
    await running.close();
    agent.destroy();
    // 20,000 HTTP calls: on a loaded 2-core machine this can take longer than Jest's default minute.
  }, 240_000);

  // Issue 20, item 6: close() after an outage with folded sums reported `pending` 13 (10 queued
  // deltas + 3 sums) when 1,000 deltas were not delivered, and the shutdown snippet of the READMEs
  // printed "13 usage deltas not delivered". `pending` counts deltas now; the referenceIds listed are
  // those of the deltas held and of each sum, and the drops counted as `shutdown` match.
  it('close() during an outage reports every delta not delivered, folded ones included', async () => {
    await sandbox.stop();
    try {
      const drops: DropEvent[] = [];
      const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'fold-close', maxQueueSize: 10, retryBaseDelayMs: 10, retryMaxDelayMs: 50, onDrop: (d) => drops.push(d), logger: { debug() {}, info() {}, warn() {}, error() {} } });
      for (let i = 0; i < 1_000; i++) expect(meter.enqueue({ customerId: CUSTOMERS[i % 3]!, delta: -1, reason: 'search', requestId: `q-${i}` }).accepted).toBe(true);
      expect(meter.stats()).toMatchObject({ folded: 990, overflow: { sums: 3, deltas: 990 } });
      const report = await meter.close({ timeoutMs: 200 });
      expect({ pending: report.pending, timedOut: report.timedOut, ids: report.pendingReferenceIds.length, sumIds: report.pendingReferenceIds.filter((id) => id.includes(':overflow.')).length }).toEqual({ pending: 1_000, timedOut: true, ids: 13, sumIds: 3 });
      // With the memory store they are lost, and each is counted and reported as such (a sum's drop
      // carries its total: -1 for each delta it holds); a request abandoned under way settles last.
      await waitFor(() => meter.stats().dropped.shutdown === 1_000, 'every delta reported dropped');
      expect(meter.stats().dropped).toEqual({ shutdown: 1_000 });
      expect(drops.reduce((n, d) => n - (d.delta ?? 0), 0)).toBe(1_000);
    } finally {
      await sandbox.start();
    }
  });
});
