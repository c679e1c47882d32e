// Issue #14: a NestJS Terminus health indicator for the Meter, in a real Nest app with health
// routes, its Meter delivering to the sandbox over real sockets. Issue 20, item 8: readiness never
// fails on PacSpace's health (an outage would take every instance out of the load balancer at
// once); the alert check counts drops over a trailing window, so it clears once they stop.
import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { createMemoryStateStore, silentLogger, type MeterHealthOptions } from '@pacspace-metering/core';
import { Metered, MeteringModule, type Meter, METER, PERIODIC_METER, type PeriodicMeter } from '@pacspace-metering/nestjs';
import { MeteringHealthIndicator } from '@pacspace-metering/nestjs/terminus';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { waitFor } from './support/wait.js';

interface HealthBody {
  status: string;
  info?: Record<string, Record<string, unknown>>;
  error?: Record<string, Record<string, unknown>>;
}

async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: HealthBody }> {
  const res = await fetch(`${base}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as HealthBody) : { status: text } };
}

/** Polls `path` until it answers `status` (a condition, never a fixed wait); fails after 15 s. */
async function untilStatus(base: string, path: string, status: number, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((await get(base, path)).status !== status) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An app with Terminus, the Metering module and a /health route judged with `thresholds`. */
function appModule(meteringOptions: Parameters<typeof MeteringModule.forRoot>[0], thresholds: MeterHealthOptions) {
  @Controller()
  class ItemsController {
    @Get('items/:id')
    @Metered('item_read')
    item() {
      return { ok: true };
    }
  }

  @Controller('health')
  class HealthController {
    constructor(
      private readonly health: HealthCheckService,
      private readonly metering: MeteringHealthIndicator,
    ) {}

    @Get('ready')
    @HealthCheck()
    ready() {
      return this.health.check([() => this.metering.isReady()]);
    }

    @Get('billing')
    @HealthCheck()
    billing() {
      return this.health.check([() => this.metering.isBillingHealthy('metering', thresholds)]);
    }

    @Get('periodic')
    @HealthCheck()
    periodic() {
      return this.health.check([() => this.metering.isPeriodicHealthy()]);
    }
  }

  @Module({
    imports: [TerminusModule.forRoot({ logger: false }), MeteringModule.forRoot(meteringOptions)],
    controllers: [ItemsController, HealthController],
    providers: [MeteringHealthIndicator],
  })
  class AppModule {}
  return AppModule;
}

async function boot(module: Function): Promise<{ app: INestApplication; base: string; meter: Meter }> {
  const app = await NestFactory.create(module, new ExpressAdapter(), { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return { app, base: await app.getUrl(), meter: app.get<Meter>(METER) };
}

const customerId = (req: { headers: Record<string, string | undefined> }) => req.headers['x-customer'];

describe('MeteringHealthIndicator (Terminus) in a real Nest app', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('readiness stays up while a dropped delta takes the billing check down, for the window only', async () => {
    const { app, base, meter } = await boot(
      appModule({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'terminus-drop', customerId, maxDeltaBytes: 256, logger: silentLogger, metadata: (req: { headers: Record<string, string | undefined> }) => ({ pad: req.headers['x-pad'] ?? '' }) }, { windowSeconds: 1 }),
    );
    try {
      expect((await get(base, '/items/1', { 'x-customer': 'acme' })).status).toBe(200);
      await waitFor(() => meter.stats().delivered === 1, 'the first delta delivered');
      const up = await get(base, '/health/billing');
      expect(up.status).toBe(200);
      expect(up.body.info?.metering).toMatchObject({ status: 'up', message: 'ok', problems: [], dropped: 0 });

      // A delta over maxDeltaBytes is refused at intake: dropped as too_large, and the billing check says so.
      expect((await get(base, '/items/2', { 'x-customer': 'acme', 'x-pad': 'x'.repeat(400) })).status).toBe(200);
      await waitFor(() => meter.stats().dropped.too_large === 1, 'the oversized delta dropped');
      const down = await get(base, '/health/billing');
      expect(down.status).toBe(503);
      expect(down.body.error?.metering).toMatchObject({ status: 'down', problems: ['dropped'], dropped: 1, droppedByReason: { too_large: 1 }, droppedSinceStart: 1 });
      const ready = await get(base, '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.info?.metering).toMatchObject({ status: 'up', ready: true, healthy: false, problems: ['dropped'] });

      // No drop since: once the 1 s window has passed, the billing check is up again.
      await untilStatus(base, '/health/billing', 200, 'the billing check up again after its window');
      expect((await get(base, '/health/billing')).body.info?.metering).toMatchObject({ status: 'up', dropped: 0, droppedSinceStart: 1 });
    } finally {
      await app.close();
    }
  });

  it('takes the billing check down with "unauthorized" when PacSpace refuses the key, never readiness', async () => {
    const { app, base, meter } = await boot(appModule({ apiKey: 'pk_test_wrong.key', baseUrl: sandbox.url, scope: 'terminus-key', customerId, logger: silentLogger }, { maxDropped: 100 }));
    try {
      expect((await get(base, '/health/billing')).status).toBe(200);
      expect((await get(base, '/items/1', { 'x-customer': 'acme' })).status).toBe(200);
      await waitFor(() => meter.stats().dropped.unauthorized === 1, 'the delta refused as unauthorized');
      const down = await get(base, '/health/billing');
      expect(down.status).toBe(503);
      expect(down.body.error?.metering).toMatchObject({ status: 'down', problems: ['unauthorized'], message: expect.stringMatching(/^PacSpace refused the API key \(1 delta dropped as unauthorized in the last \d+ s\)$/) });
      expect((await get(base, '/health/ready')).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('keeps readiness up through a PacSpace outage (a stale queue takes the billing check down), and both up once PacSpace is back', async () => {
    const { app, base, meter } = await boot(
      appModule({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'terminus-stale', customerId, logger: silentLogger, retryBaseDelayMs: 20, retryMaxDelayMs: 100 }, { maxOldestQueuedAgeSeconds: 0.5 }),
    );
    try {
      await sandbox.stop();
      expect((await get(base, '/items/1', { 'x-customer': 'acme' })).status).toBe(200);
      await waitFor(() => meter.stats().oldestQueuedAgeMs > 500, 'the delta waiting longer than 0.5 s');
      const down = await get(base, '/health/billing');
      expect(down.status).toBe(503);
      expect(down.body.error?.metering).toMatchObject({ status: 'down', problems: ['stale_queue'], queued: 1, dropped: 0 });
      const ready = await get(base, '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.info?.metering).toMatchObject({ status: 'up', ready: true, queued: 1 }); // judged with the default 300 s: no problem yet

      await sandbox.start();
      await waitFor(() => meter.stats().delivered === 1, 'the delta delivered once PacSpace is back', 30_000);
      const up = await get(base, '/health/billing');
      expect(up.status).toBe(200);
      expect(up.body.info?.metering).toMatchObject({ status: 'up', queued: 0, oldestQueuedAgeSeconds: 0 });
    } finally {
      await sandbox.start().catch(() => undefined);
      await app.close();
    }
  });

  it('takes readiness down once the Meter is closed: calls served then would go unbilled', async () => {
    const { app, base, meter } = await boot(appModule({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'terminus-closed', customerId, logger: silentLogger }, {}));
    try {
      expect((await get(base, '/health/ready')).status).toBe(200);
      await meter.close();
      const down = await get(base, '/health/ready');
      expect(down.status).toBe(503);
      expect(down.body.error?.metering).toMatchObject({ status: 'down', ready: false, problems: ['closed'], message: 'the meter is closed' });
    } finally {
      await app.close();
    }
  });

  it('isPeriodicHealthy: up with no jobs, down once a periodic job has a window that failed for good', async () => {
    const plain = await boot(appModule({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'terminus-no-jobs', customerId, logger: silentLogger }, {}));
    try {
      const up = await get(plain.base, '/health/periodic');
      expect(up.status).toBe(200);
      expect(up.body.info?.metering_periodic).toMatchObject({ status: 'up', message: 'ok', jobs: {} });
    } finally {
      await plain.app.close();
    }

    const startAt = Date.UTC(2025, 0, 1);
    const { app, base } = await boot(
      appModule(
        {
          apiKey: sandbox.apiKey,
          baseUrl: sandbox.url,
          scope: 'terminus-periodic',
          customerId,
          logger: silentLogger,
          periodic: {
            name: 'seats',
            interval: '1s',
            start: false,
            startAt,
            now: () => startAt + 1_500,
            stateStore: createMemoryStateStore(),
            // Not a valid customerId: the window fails for good (INVALID_SNAPSHOT), nothing is sent.
            collect: () => [{ customerId: 'not valid!', delta: -1, reason: 'seats' }],
          },
        },
        {},
      ),
    );
    try {
      const before = await get(base, '/health/periodic');
      expect(before.status).toBe(200);
      expect(before.body.info?.metering_periodic).toMatchObject({ status: 'up', jobs: { seats: { failed: null } } });
      // With a lag limit: the job's first window (2025) is long past.
      const indicator = app.get(MeteringHealthIndicator);
      const lagging = await indicator.isPeriodicHealthy('lag', { maxLagSeconds: 60 });
      expect(lagging.lag.status).toBe('down');
      expect(lagging.lag.message).toMatch(/^seats: last delivered window ended \d+ s ago \(allowed: 60 s\)$/);
      await expect(indicator.isPeriodicHealthy('lag', { maxLagSeconds: -1 })).rejects.toMatchObject({ option: 'maxLagSeconds' });
      expect((await app.get<PeriodicMeter>(PERIODIC_METER).runDue()).status).toBe('failed');
      const down = await get(base, '/health/periodic');
      expect(down.status).toBe(503);
      expect(down.body.error?.metering_periodic).toMatchObject({
        status: 'down',
        message: 'seats: window 20250101T000000Z.1s failed for good (INVALID_SNAPSHOT)',
        jobs: { seats: { failed: { key: '20250101T000000Z.1s', code: 'INVALID_SNAPSHOT' } } },
      });
    } finally {
      await app.close();
    }
  });
});
