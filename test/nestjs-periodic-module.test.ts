// Issue #14: `MeteringModule.forRoot({ periodic })` and `forRootAsync`: the module creates the
// periodic (and aggregating) meters, starts and stops them with the application, and exposes them
// for injection. Real Nest apps, delivery to the sandbox over real sockets.
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type INestApplication, type Type } from '@nestjs/common';
import { createMemoryStateStore, createMeter, MeteringConfigError, silentLogger, type PeriodCloseReport, type WindowReport } from '@pacspace-metering/core';
import {
  InjectMeter,
  InjectPeriodicMeter,
  InjectPeriodicMeters,
  Metered,
  MeteringModule,
  PERIODIC_METER,
  type AggregatingMeter,
  type Meter,
  type MeteringModuleOptions,
  type PeriodicMeter,
} from '@pacspace-metering/nestjs';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { bootError, bootNest } from './support/nest-apps.js';
import { waitFor } from './support/wait.js';

const customerId = (req: { headers: Record<string, string | undefined> }) => req.headers['x-customer'];

@Controller()
class SearchController {
  @Get('search')
  @Metered('search')
  search() {
    return { hits: [] };
  }
}

/** What a service of the app sees through injection. */
@Injectable()
class BillingAdmin {
  constructor(
    @InjectPeriodicMeter() readonly periodic: PeriodicMeter,
    @InjectPeriodicMeters() readonly jobs: ReadonlyMap<string, PeriodicMeter>,
    @InjectMeter() readonly meter: Meter,
  ) {}
}

function moduleWith(metering: ReturnType<typeof MeteringModule.forRoot>) {
  @Module({ imports: [metering], controllers: [SearchController], providers: [BillingAdmin] })
  class AppModule {}
  return AppModule;
}

async function boot(module: Type<unknown>): Promise<{ app: INestApplication; base: string; admin: BillingAdmin }> {
  const booted = await bootNest(module);
  return { ...booted, admin: booted.app.get(BillingAdmin) };
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

describe('MeteringModule.forRoot({ periodic })', () => {
  it('creates the periodic meter with the module options, starts it with the app, stops it on close', async () => {
    const windows: WindowReport[] = [];
    const { app, admin } = await boot(
      moduleWith(
        MeteringModule.forRoot({
          apiKey: sandbox.apiKey,
          baseUrl: sandbox.url,
          scope: 'nest-periodic',
          logger: silentLogger,
          customerId,
          periodic: {
            interval: '1s',
            stateStore: createMemoryStateStore(),
            collect: () => [{ customerId: 'acme', delta: -2, reason: 'storage_gb_seconds' }],
            onWindow: (report) => windows.push(report),
          },
        }),
      ),
    );
    let closed = false;
    try {
      // Inherited from the module: scope, and the key and URL its deliveries reach the sandbox with.
      expect(admin.periodic.scope).toBe('nest-periodic');
      expect(admin.periodic.name).toBe('periodic');
      expect(admin.jobs.get('periodic')).toBe(admin.periodic);
      // Started by the module: the current window is delivered once it ends, without any call of ours.
      await waitFor(() => windows.length >= 1, 'a window delivered by the started schedule');
      const ledger = sandbox.ledger();
      const periodic = ledger.deltas.filter((d) => d.referenceId?.startsWith('nest-periodic:storage_gb_seconds:acme:periodic.'));
      expect(periodic.length).toBeGreaterThanOrEqual(1);
      expect(periodic.every((d) => d.delta === -2)).toBe(true);
      expect((await admin.periodic.status()).nextStart).not.toBeNull();
      await app.close();
      closed = true;
      // Stopped by the module on shutdown: the schedule is over for good.
      await expect(admin.periodic.runDue()).rejects.toMatchObject({ code: 'STOPPED' });
    } finally {
      if (!closed) await app.close();
    }
  });

  it('hybrid: aggregated per-request billing and a periodic job in one module; closing a month drains the module Meter first', async () => {
    const closedPeriods: PeriodCloseReport[] = [];
    // The periodic job's own clock: a few seconds after March 2025 ended, so its last windows are due.
    const now = () => Date.UTC(2025, 3, 1, 0, 0, 3);
    const { app, base, admin } = await boot(
      moduleWith(
        MeteringModule.forRoot({
          apiKey: sandbox.apiKey,
          baseUrl: sandbox.url,
          scope: 'nest-hybrid',
          logger: silentLogger,
          customerId,
          aggregate: { interval: '1m' },
          periodic: {
            name: 'storage',
            interval: '1s',
            start: false,
            startAt: Date.UTC(2025, 2, 31, 23, 59, 58),
            stateStore: createMemoryStateStore(),
            now,
            collect: ({ key }) => [{ customerId: 'acme', delta: -1, reason: 'storage', metadata: { window: key } }],
            closePeriods: true,
            onPeriodClosed: (report) => closedPeriods.push(report),
          },
        }),
      ),
    );
    try {
      // Per-request: three calls summed by the module's aggregating meter, nothing sent yet.
      for (let i = 0; i < 3; i++) expect((await fetch(`${base}/search`, { headers: { 'x-customer': 'acme' } })).status).toBe(200);
      const aggregated = admin.meter as AggregatingMeter;
      await waitFor(() => aggregated.stats().aggregation.openRequests === 3, 'three calls summed');
      expect(sandbox.ledger().deltas).toHaveLength(0);

      // start: false: the app schedules the job itself.
      expect(admin.jobs.get('storage')).toBe(admin.periodic);
      const report = await admin.periodic.runDue();
      expect(report.status).toBe('idle');
      // The two March windows, then the month closed: the drain sent the open sums first.
      expect(closedPeriods).toHaveLength(1);
      expect(closedPeriods[0]!.period).toBe('2025-03');
      expect(closedPeriods[0]!.drained).toHaveLength(1);
      const ledger = sandbox.ledger();
      const search = ledger.deltas.filter((d) => d.reason === 'search');
      expect(search.map((d) => d.delta)).toEqual([-3]);
      expect(ledger.deltas.filter((d) => d.reason === 'storage').length).toBeGreaterThanOrEqual(2);
      expect(ledger.checkpoints.map((c) => c.period)).toEqual(['2025-03']);
    } finally {
      await app.close();
    }
    expect(admin.meter.stats().closed).toBe(true);
  });

  it('forRootAsync: periodic options from a factory', async () => {
    const windows: WindowReport[] = [];
    const { app, admin } = await boot(
      moduleWith(
        MeteringModule.forRootAsync({
          useFactory: async (): Promise<MeteringModuleOptions> => ({
            apiKey: sandbox.apiKey,
            baseUrl: sandbox.url,
            scope: 'nest-periodic-async',
            logger: silentLogger,
            customerId,
            periodic: [
              { name: 'first', interval: '1s', start: false, stateStore: createMemoryStateStore(), collect: () => [] },
              { name: 'second', interval: '1s', stateStore: createMemoryStateStore(), collect: () => [{ customerId: 'globex', delta: -5, reason: 'seats' }], onWindow: (r) => windows.push(r) },
            ],
          }),
        }),
      ),
    );
    try {
      expect([...admin.jobs.keys()]).toEqual(['first', 'second']);
      expect(admin.periodic.name).toBe('first');
      await waitFor(() => windows.length >= 1, 'the started job delivering a window');
      expect(sandbox.ledger().deltas.some((d) => d.customerId === 'globex' && d.delta === -5 && d.referenceId?.includes(':second.'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('enabled: false: the periodic job runs with a dry-run client, no key needed, nothing sent', async () => {
    const delivered: WindowReport[] = [];
    const { app, admin } = await boot(
      moduleWith(
        MeteringModule.forRoot({
          enabled: false,
          logger: silentLogger,
          customerId,
          periodic: { interval: '1s', start: false, startAt: Date.UTC(2025, 0, 1), now: () => Date.UTC(2025, 0, 1, 0, 0, 2), stateStore: createMemoryStateStore(), collect: () => [{ customerId: 'acme', delta: -1, reason: 'seats' }], onWindow: (r) => delivered.push(r) },
        }),
      ),
    );
    try {
      expect((await admin.periodic.runDue()).status).toBe('idle');
      expect(delivered.map((r) => r.delivered)).toEqual([1, 1]);
      expect(sandbox.ledger().requests).toHaveLength(0);
    } finally {
      await app.close();
    }
  });

  it('aggregate over a given Meter: the module closes the aggregation (open sums sent) and flushes, not closes, the given Meter', async () => {
    const given = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'nest-given', logger: silentLogger });
    const { app, base, admin } = await boot(moduleWith(MeteringModule.forRoot({ meter: given, aggregate: true, customerId })));
    for (let i = 0; i < 2; i++) expect((await fetch(`${base}/search`, { headers: { 'x-customer': 'acme' } })).status).toBe(200);
    await waitFor(() => (admin.meter as AggregatingMeter).stats().aggregation.openRequests === 2, 'two calls summed');
    await app.close();
    expect(sandbox.ledger().deltas.map((d) => [d.reason, d.delta])).toEqual([['search', -2]]);
    expect(admin.meter.stats().closed).toBe(true);
    expect(given.stats().closed).toBe(false);
    await given.close();
  });

  it('aborts the start with a MeteringConfigError naming the periodic option', async () => {
    const badInterval = await bootError(
      moduleWith(MeteringModule.forRoot({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, logger: silentLogger, periodic: { interval: '7h', stateStore: createMemoryStateStore(), collect: () => [] } })),
    );
    expect(badInterval).toBeInstanceOf(MeteringConfigError);
    expect((badInterval as MeteringConfigError).option).toBe('periodic.interval');

    const sameName = await bootError(
      moduleWith(
        MeteringModule.forRoot({
          apiKey: sandbox.apiKey,
          baseUrl: sandbox.url,
          logger: silentLogger,
          periodic: [
            { stateStore: createMemoryStateStore(), collect: () => [] },
            { stateStore: createMemoryStateStore(), collect: () => [] },
          ],
        }),
      ),
    );
    expect((sameName as MeteringConfigError).option).toBe('periodic[1].name');
    expect(sameName.message).toMatch(/'periodic' is used by two periodic jobs/);

    const noCollect = await bootError(moduleWith(MeteringModule.forRoot({ apiKey: sandbox.apiKey, logger: silentLogger, periodic: { stateStore: createMemoryStateStore() } as never })));
    expect((noCollect as MeteringConfigError).option).toBe('periodic.collect');

    const secondBad = await bootError(
      moduleWith(
        MeteringModule.forRoot({
          apiKey: sandbox.apiKey,
          logger: silentLogger,
          periodic: [
            { name: 'a', stateStore: createMemoryStateStore(), collect: () => [] },
            { name: 'b', delayMs: -1, stateStore: createMemoryStateStore(), collect: () => [] },
          ],
        }),
      ),
    );
    expect((secondBad as MeteringConfigError).option).toBe('periodic[1].delayMs');

    const badWindow = await bootError(moduleWith(MeteringModule.forRoot({ apiKey: sandbox.apiKey, logger: silentLogger, aggregate: { interval: '7h' } })));
    expect((badWindow as MeteringConfigError).option).toBe('aggregate.interval');

    const badAggregate = await bootError(moduleWith(MeteringModule.forRoot({ apiKey: sandbox.apiKey, logger: silentLogger, aggregate: 'yes' as never })));
    expect((badAggregate as MeteringConfigError).option).toBe('aggregate');
  });

  it('without periodic, an injected periodic meter says what is missing when used', async () => {
    const { app } = await boot(moduleWith(MeteringModule.forRoot({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, logger: silentLogger, customerId })));
    try {
      const periodic = app.get<PeriodicMeter>(PERIODIC_METER);
      expect(() => periodic.runDue()).toThrow(/no periodic job named 'periodic': add it to `periodic` in MeteringModule.forRoot\(\)/);
      expect(() => periodic.scope).toThrow(MeteringConfigError);
    } finally {
      await app.close();
    }
  });
});
