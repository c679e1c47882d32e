// Issue 22, "Must show": a real Express app gated by createBalanceGate() + requireBalance(), billed
// by meterRequests(), against the sandbox over real sockets. A burst cannot overspend a balance, a
// top-up is seen within the TTL, deltas PacSpace has not verified yet are still counted, and one
// balance read serves every call of a customer per TTL.
import { PROBLEM_TYPES } from '@pacspace-metering/core';
import { requireBalance } from '@pacspace-metering/express';
import express from 'express';
import { listen } from '../packages/express/test-support/harness.js';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { deriveReads, gatedApp, verifiedBalance, type GatedApp } from './support/gated-app.js';
import { waitFor } from './support/wait.js';

const TTL = 1000;

async function burst(gated: GatedApp, customer: string, n: number): Promise<number[]> {
  return (await Promise.all(Array.from({ length: n }, () => gated.call(customer)))).map((r) => r.status);
}

const count = (statuses: number[], status: number): number => statuses.filter((s) => s === status).length;

describe('balance gate on Express, one instance', () => {
  let sandbox: Sandbox;
  let gated: GatedApp;

  beforeAll(async () => {
    sandbox = await startSandbox();
    gated = await gatedApp(sandbox, { ttlMs: TTL });
  });
  afterAll(async () => {
    await gated.close();
    await sandbox.close();
  });

  it('serves 10 of 200 concurrent calls on a balance of 10 (bound 0), never overdraws, and serves again after a top-up within the TTL', async () => {
    sandbox.topUp('acme', 10);
    const statuses = await burst(gated, 'acme', 200);
    // One instance, price = billed amount: the documented bound is 0 over the balance.
    expect(count(statuses, 200)).toBe(10);
    expect(count(statuses, 402)).toBe(190);
    await gated.meter.flush({ timeoutMs: 10_000 });
    expect(verifiedBalance(sandbox, 'acme')).toBe(0);
    // 200 concurrent calls of one customer: one balance read.
    expect(deriveReads(sandbox, 'acme')).toBe(1);

    const refused = await gated.call('acme');
    expect(refused.status).toBe(402);
    expect(refused.type).toMatch(/^application\/problem\+json(;|$)/);
    expect(refused.body).toEqual({
      type: PROBLEM_TYPES.insufficientBalance,
      title: 'Insufficient balance',
      status: 402,
      detail: 'The balance of customer acme (0) does not cover the price of this call (1).',
      customerId: 'acme',
      balance: 0,
      price: 1,
    });

    sandbox.topUp('acme', 5);
    // Within the TTL the cached balance decides; once it is older, the next call reads again.
    gated.clock.advance(TTL);
    const first = await gated.call('acme'); // served from the stale balance while it refreshes
    expect(first.status).toBe(402);
    await waitFor(() => deriveReads(sandbox, 'acme') === 2 && gated.gate.stats().deriveCalls === 2 && !refreshing(gated), 'the refresh after the TTL');
    expect(count(await burst(gated, 'acme', 20), 200)).toBe(5);
    await gated.meter.flush({ timeoutMs: 10_000 });
    expect(verifiedBalance(sandbox, 'acme')).toBe(0);
  });

  it('reads each customer once per TTL under load: 1,000 concurrent calls, then rounds of 500', async () => {
    sandbox.topUp('busy', 1_000_000);
    sandbox.topUp('other', 1_000_000);
    expect(count(await burst(gated, 'busy', 1000), 200)).toBe(1000);
    expect(deriveReads(sandbox, 'busy')).toBe(1);
    for (let round = 2; round <= 4; round++) {
      gated.clock.advance(TTL);
      const statuses = await Promise.all([burst(gated, 'busy', 500), burst(gated, 'other', 100)]);
      expect(count(statuses[0], 200) + count(statuses[1], 200)).toBe(600);
      await waitFor(() => !refreshing(gated), 'the round refresh');
      expect(deriveReads(sandbox, 'busy')).toBe(round);
    }
    expect(deriveReads(sandbox, 'other')).toBe(3);
    expect(gated.gate.stats().deriveCalls).toBe(deriveReads(sandbox));
  });
});

it('lets a CORS preflight through a gated app unchecked (no credentials, no customer): the call that follows is checked', async () => {
  const sandbox = await startSandbox();
  const gated = await gatedApp(sandbox);
  const app = express();
  app.use(requireBalance(gated.gate, { customerId: (req) => req.headers['x-customer'] as string | undefined }));
  app.use((req, res) => void res.status(req.method === 'OPTIONS' ? 204 : 200).end());
  const running = await listen(app);
  try {
    const preflight = await fetch(`${running.url}/v1/work`, { method: 'OPTIONS', headers: { 'access-control-request-method': 'GET', origin: 'https://example.com' } });
    expect(preflight.status).toBe(204);
    expect((await fetch(`${running.url}/v1/work`, { headers: { 'x-customer': 'nobody' } })).status).toBe(402);
    expect(gated.gate.stats()).toMatchObject({ checks: 1, invalid: 0 });
  } finally {
    await running.close();
    await gated.close();
    await sandbox.close();
  }
});

describe('balance gate on Express, PacSpace verifies slowly', () => {
  let sandbox: Sandbox;
  let gated: GatedApp;

  beforeAll(async () => {
    // Committed deltas stay QUEUED 5 s, then PROCESSING 1 s: derive does not count them yet.
    sandbox = await startSandbox({ verification: { queuedMs: 5000, processingMs: 1000 } });
    gated = await gatedApp(sandbox, { ttlMs: TTL });
  });
  afterAll(async () => {
    await gated.close();
    await sandbox.close();
  });

  it('keeps counting delivered deltas until PacSpace counts them: no overspend, and no double count after', async () => {
    sandbox.topUp('slow', 10);
    await waitFor(() => verifiedBalance(sandbox, 'slow') === 10, 'the top-up verified');
    expect(count(await burst(gated, 'slow', 200), 200)).toBe(10);
    await gated.meter.flush({ timeoutMs: 10_000 });

    // Delivered, not verified: derive still says 10. The gate must not believe it.
    gated.clock.advance(TTL);
    expect((await gated.call('slow')).status).toBe(402);
    await waitFor(() => gated.gate.stats().deriveCalls === 2 && !refreshing(gated), 'a refresh while the deltas are unverified');
    // (When this machine is too slow to refresh within the 6 s of verification, the refresh sees them verified: still 0.)
    expect(count(await burst(gated, 'slow', 50), 200)).toBe(0);

    // Once verified, derive counts them and the gate lets go of them: a top-up of 3 serves exactly 3.
    await waitFor(() => verifiedBalance(sandbox, 'slow') === 0, 'the usage verified');
    sandbox.topUp('slow', 3);
    await waitFor(() => verifiedBalance(sandbox, 'slow') === 3, 'the second top-up verified');
    gated.clock.advance(TTL);
    expect((await gated.call('slow')).status).toBe(402); // stale: 10 derived - 10 held
    await waitFor(() => gated.gate.stats().deriveCalls === 3 && !refreshing(gated), 'a refresh after verification');
    expect(gated.gate.stats().heldDeliveries).toBe(0);
    expect(count(await burst(gated, 'slow', 20), 200)).toBe(3);
    await gated.meter.flush({ timeoutMs: 10_000 });
    await waitFor(() => sandbox.ledger().deltas.every((d) => d.status === 'VERIFIED'), 'everything verified');
    expect(verifiedBalance(sandbox, 'slow')).toBe(0);
  });
});

/** True while the gate reads some balance (sent, not yet applied). */
function refreshing(gated: GatedApp): boolean {
  return gated.gate.stats().readsInFlight > 0;
}
