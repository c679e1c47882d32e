// Issue #14: a NestJS Terminus health indicator for the Meter, in a real Nest app with a /health
// route, its Meter delivering to the sandbox over real sockets.
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

    @Get()
    @HealthCheck()
    check() {
      return this.health.check([() => this.metering.isHealthy('metering', thresholds)]);
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

  it('is up while billing flows, down (503) once a delta was dropped, with the reason in the body', async () => {
    const { app, base, meter } = await boot(
      appModule({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'terminus-drop', customerId, maxDeltaBytes: 256, logger: silentLogger, metadata: (req: { headers: Record<string, string | undefined> }) => ({ pad: req.headers['x-pad'] ?? '' }) }, {}),
    );
    try {
      expect((await get(base, '/items/1', { 'x-customer': 'acme' })).status).toBe(200);
      await waitFor(() => meter.stats().delivered === 1, 'the first delta delivered');
      const up = await get(base, '/health');
      expect(up.status).toBe(200);
      expect(up.body.status).toBe('ok');
      expect(up.body.info?.metering).toMatchObject({ status: 'up', message: 'ok', problems: [], dropped: 0 });

      // A delta over maxDeltaBytes is refused at intake: dropped as too_large, and /health says so.
      expect((await get(base, '/items/2', { 'x-customer': 'acme', 'x-pad': 'x'.repeat(400) })).status).toBe(200);
      await waitFor(() => meter.stats().dropped.too_large === 1, 'the oversized delta dropped');
      const down = await get(base, '/health');
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('error');
      expect(down.body.error?.metering).toMatchObject({ status: 'down', problems: ['dropped'], dropped: 1, droppedByReason: { too_large: 1 } });
    } finally {
      await app.close();
    }
  });

  it('is down with "unauthorized" when PacSpace refuses the key, even when drops are tolerated', async () => {
    const { app, base, meter } = await boot(appModule({ apiKey: 'pk_test_wrong.key', baseUrl: sandbox.url, scope: 'terminus-key', customerId, logger: silentLogger }, { maxDropped: 100 }));
    try {
      expect((await get(base, '/health')).status).toBe(200);
      expect((await get(base, '/items/1', { 'x-customer': 'acme' })).status).toBe(200);
      await waitFor(() => meter.stats().dropped.unauthorized === 1, 'the delta refused as unauthorized');
      const down = await get(base, '/health');
      expect(down.status).toBe(503);
      expect(down.body.error?.metering).toMatchObject({ status: 'down', problems: ['unauthorized'], message: 'PacSpace refused the API key (1 delta dropped as unauthorized)' });
    } finally {
      await app.close();
    }
  });

  it('is down while the oldest queued delta is older than maxOldestQueuedAgeSeconds, and up again once PacSpace is back', async () => {
    const { app, base, meter } = await boot(
      appModule({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'terminus-stale', customerId, logger: silentLogger, retryBaseDelayMs: 20, retryMaxDelayMs: 100 }, { maxOldestQueuedAgeSeconds: 0.5 }),
    );
    try {
      await sandbox.stop();
      expect((await get(base, '/items/1', { 'x-customer': 'acme' })).status).toBe(200);
      await waitFor(() => meter.stats().oldestQueuedAgeMs > 500, 'the delta waiting longer than 0.5 s');
      const down = await get(base, '/health');
      expect(down.status).toBe(503);
      expect(down.body.error?.metering).toMatchObject({ status: 'down', problems: ['stale_queue'], queued: 1, dropped: 0 });

      await sandbox.start();
      await waitFor(() => meter.stats().delivered === 1, 'the delta delivered once PacSpace is back', 30_000);
      const up = await get(base, '/health');
      expect(up.status).toBe(200);
      expect(up.body.info?.metering).toMatchObject({ status: 'up', queued: 0, oldestQueuedAgeSeconds: 0 });
    } finally {
      await sandbox.start().catch(() => undefined);
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
