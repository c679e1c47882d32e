// Issue 20, item 8, with the core README's own routes in a real Express app: readiness stays up
// through a PacSpace outage (only a closed Meter takes it down), while the alert route says what
// is wrong and comes back once PacSpace is.
import { createMeter, createMeterHealth, silentLogger } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { listen } from '../packages/express/test-support/harness.js';
import { waitFor } from './support/wait.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());

it('keeps /ready at 200 through a PacSpace outage while /health/billing reports it, and /ready 503 once the Meter is closed', async () => {
  const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'express-health', logger: silentLogger, retryBaseDelayMs: 20, retryMaxDelayMs: 100 });
  const health = createMeterHealth(meter);
  const app = express();
  app.get('/ready', (_req, res) => void res.sendStatus(health.check().ready ? 200 : 503));
  app.get('/health/billing', (_req, res) => {
    const billing = health.check({ maxOldestQueuedAgeSeconds: 0.5 });
    res.status(billing.healthy ? 200 : 503).json(billing);
  });
  app.get('/v1/items/:id', meterRequests(meter, { customerId: () => 'acme' }), (_req, res) => void res.json({ ok: true }));
  const running = await listen(app);
  const get = async (path: string) => {
    const res = await fetch(`${running.url}${path}`);
    return { status: res.status, body: await res.text() };
  };
  try {
    await sandbox.stop();
    expect((await get('/v1/items/1')).status).toBe(200);
    await waitFor(() => meter.stats().oldestQueuedAgeMs > 500, 'the delta held longer than 0.5 s');
    expect((await get('/ready')).status).toBe(200);
    const billing = await get('/health/billing');
    expect(billing.status).toBe(503);
    expect(JSON.parse(billing.body)).toMatchObject({ ready: true, healthy: false, problems: ['stale_queue'], queued: 1 });

    await sandbox.start();
    await waitFor(() => meter.stats().delivered === 1, 'the delta delivered once PacSpace is back', 30_000);
    expect((await get('/health/billing')).status).toBe(200);

    await meter.close();
    expect((await get('/ready')).status).toBe(503);
    expect(sandbox.ledger().deltas).toHaveLength(1);
  } finally {
    await sandbox.start().catch(() => undefined);
    await running.close();
    await meter.close();
  }
});
