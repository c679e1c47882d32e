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
});
