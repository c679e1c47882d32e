// Issue 22, "Must show": a call billed with meterNow() whose work then fails is reversed with
// correctRequest(), through PacSpace's `adjusts`, exactly once: through injected 5xx, resets and
// commit-then-drop, and when the client retries the whole request under the same request id.
import { createBalanceGate, createMeter, type Meter } from '@pacspace-metering/core';
import { correctRequest, meterNow, meterRequests, requireBalance } from '@pacspace-metering/express';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { listen, type RunningApp } from '../packages/express/test-support/harness.js';

describe('correctRequest() after meterNow(), under API faults', () => {
  let sandbox: Sandbox;
  let meter: Meter;
  let running: RunningApp;

  beforeAll(async () => {
    sandbox = await startSandbox({
      seed: 22,
      // Writes 2 and 3 (the first correction's attempts) commit and lose their answer, or fail before it.
      faults: { commitThenDrop: { requests: [2, 5] }, serverError: { rate: 0.3 }, resetBeforeProcessing: { requests: [3] } },
    });
    meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'exports-api', retryBaseDelayMs: 5, retryMaxDelayMs: 20, attemptTimeoutMs: 2000 });
    const gate = createBalanceGate(meter, { ttlMs: 1 });
    const customerId = (req: express.Request) => req.headers['x-customer'] as string;
    const app = express();
    app.post(
      '/v1/exports',
      requireBalance(gate, { customerId, price: 5 }),
      meterRequests(meter, { customerId, reason: 'export', delta: -5, requestIdHeader: 'x-request-id' }),
      async (req, res, next) => {
        const billed = { customerId: customerId(req), reason: 'export', delta: -5 };
        await meterNow(meter, req, billed); // confirmed with PacSpace before the work
        try {
          if (req.query.fail === '1') throw new Error('the export failed');
          res.json({ exported: true });
        } catch (err) {
          await correctRequest(meter, req, billed).catch(next); // give the 5 units back, once
          if (!res.headersSent) res.status(500).json({ error: (err as Error).message, refunded: 5 });
        }
      },
    );
    running = await listen(app);
  });
  afterAll(async () => {
    await running.close();
    await meter.close({ timeoutMs: 5000 });
    await sandbox.close();
  });

  const post = (fail: boolean, requestId: string) =>
    fetch(`${running.url}/v1/exports${fail ? '?fail=1' : ''}`, { method: 'POST', headers: { 'x-customer': 'acme', 'x-request-id': requestId } });

  it('bills, reverses once (even when the client retries the request), and the balance serves again', async () => {
    sandbox.topUp('acme', 5);
    const first = await post(true, 'export-1');
    expect(first.status).toBe(500);
    expect(await first.json()).toEqual({ error: 'the export failed', refunded: 5 });
    // The client retries the failed request under the same id: billed and reversed under the same referenceIds.
    const retried = await post(true, 'export-1');
    expect(retried.status).toBe(500);

    const acme = sandbox.ledger().deltas.filter((d) => d.customerId === 'acme');
    // A trusted header id is bound to the call: `{id}.{16 hex of the method and URL}`.
    const billed = acme[1]!.referenceId!;
    expect(billed).toMatch(/^exports-api:export:acme:export-1\.[0-9a-f]{16}$/);
    expect(acme.map((d) => [d.delta, d.reason, d.referenceId, d.adjusts?.referenceId ?? null])).toEqual([
      [5, 'top_up', expect.any(String), null],
      [-5, 'export', billed, null],
      [5, 'correction', `${billed}~reversal`, billed],
    ]);
    expect(duplicateReferenceIds(sandbox.ledger())).toEqual([]);
    // The faults did fire on the way.
    expect(sandbox.ledger().counts.faults).toBeGreaterThan(0);
    expect(sandbox.ledger().counts.replayed).toBeGreaterThan(0);

    // 5 - 5 + 5: the customer can pay for one more export.
    const paid = await post(false, 'export-2');
    expect(paid.status).toBe(200);
    expect((await post(false, 'export-3')).status).toBe(402);
  });
});
