// Issue 22 on Nest: @RequireBalance() and a global BalanceGuard in front of @Metered() routes, a
// module `balance` option, 402 problem+json on the Express and Fastify adapters, and
// MeteringCorrections reversing an awaited delta once under API faults.
import { Controller, Get, HttpException, Module, Post, Req } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createDefaultReporter, PROBLEM_TYPES, silentLogger, type BalanceGate, type Meter } from '@pacspace-metering/core';
import { BalanceGuard, InjectBalanceGate, InjectMeter, Metered, MeteringCorrections, MeteringModule, RequireBalance, SkipBalanceCheck } from '@pacspace-metering/nestjs';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { jest } from '@jest/globals';
import 'reflect-metadata';
import { bootError, bootNest } from './support/nest-apps.js';
import { testClock } from './support/gated-app.js';

let sandbox: Sandbox;
const clock = testClock();
const lines: string[] = [];

@Controller()
class WorkController {
  constructor(
    @InjectMeter() private readonly meter: Meter,
    private readonly corrections: MeteringCorrections,
    @InjectBalanceGate() readonly gate: BalanceGate,
  ) {}

  @Get('work') @RequireBalance() @Metered('api_request') work() {
    return { ok: true };
  }

  @Post('reports') @RequireBalance(5) @Metered({ reason: 'report', delta: -5 }) report() {
    return { report: true };
  }

  @Get('free') free() {
    return { free: true };
  }

  @Post('exports') @RequireBalance(10) async export(@Req() req: { headers: Record<string, string> }) {
    const customerId = req.headers['x-customer']!;
    const billed = await this.meter.emit({ customerId, delta: -10, reason: 'export', requestId: req.headers['x-job']! });
    // The work fails after the billing: give the 10 units back, once however often this runs.
    await this.corrections.reverse({ referenceId: billed.referenceId, customerId, delta: -10 });
    throw new HttpException({ error: 'the export failed', refunded: 10 }, 500);
  }
}

function moduleFor(extra: object = {}): new () => unknown {
  @Module({
    imports: [
      MeteringModule.forRoot({
        apiKey: sandbox.apiKey,
        baseUrl: sandbox.url,
        scope: 'nest-gate',
        flushIntervalMs: 5,
        retryBaseDelayMs: 5,
        retryMaxDelayMs: 20,
        customerId: (req) => req.headers['x-customer'],
        balance: { ttlMs: 1000, now: clock.now, logger: createDefaultReporter((line) => lines.push(line)), problem: (p) => ({ ...p, topUp: 'https://example.com/billing' }) },
        isGlobal: true,
      }),
    ],
    controllers: [WorkController],
    ...extra,
  })
  class AppModule {}
  return AppModule;
}

const call = (base: string, method: string, path: string, customer: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method, headers: { 'x-customer': customer, ...headers } });

describe('balance gate on Nest', () => {
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 7 });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it.each([
    ['Express', undefined],
    ['Fastify', () => new FastifyAdapter()],
  ])('@RequireBalance on %s: 10 of 200 concurrent calls on a balance of 10, then 402 problem+json shaped by the module', async (name, adapter) => {
    const customer = `nest-${name}`;
    sandbox.topUp(customer, 10);
    const { app, base } = await bootNest(moduleFor(), adapter?.());
    try {
      const statuses = await Promise.all(Array.from({ length: 200 }, async () => (await call(base, 'GET', '/work', customer)).status));
      expect(statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(statuses.filter((s) => s === 402)).toHaveLength(190);
      const refused = await call(base, 'POST', '/reports', customer);
      expect(refused.status).toBe(402);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await refused.json()).toEqual({
        type: PROBLEM_TYPES.insufficientBalance,
        title: 'Insufficient balance',
        status: 402,
        detail: `The balance of customer ${customer} (0) does not cover the price of this call (5).`,
        customerId: customer,
        balance: 0,
        price: 5,
        topUp: 'https://example.com/billing',
      });
      expect((await call(base, 'GET', '/free', customer)).status).toBe(200);
      const gate = app.get(WorkController).gate;
      expect(gate.stats()).toMatchObject({ allowed: 10, refused: 191, deriveCalls: 1 });
    } finally {
      await app.close(); // delivers what is queued
    }
    expect(sandbox.ledger().deltas.filter((d) => d.customerId === customer).reduce((sum, d) => sum + d.delta, 0)).toBe(0);
  });

  it('BalanceGuard as APP_GUARD gates every route with the module defaults; @SkipBalanceCheck lets one through', async () => {
    @Controller('global')
    class GlobalController {
      @Get('paid') paid() {
        return 'paid';
      }
      @Get('health') @SkipBalanceCheck() health() {
        return 'ok';
      }
    }
    const { app, base } = await bootNest(moduleFor({ controllers: [GlobalController], providers: [{ provide: APP_GUARD, useClass: BalanceGuard }] }));
    try {
      expect((await call(base, 'GET', '/global/paid', 'nobody-paid')).status).toBe(402);
      expect((await call(base, 'GET', '/global/health', 'nobody-paid')).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('MeteringCorrections reverses an awaited delta once, through faults and a retried job', async () => {
    sandbox.topUp('nest-exports', 10);
    const { app, base } = await bootNest(moduleFor());
    sandbox.setFaults({ commitThenDrop: { every: 2 }, serverError: { rate: 0.3 } });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await call(base, 'POST', '/exports', 'nest-exports', { 'x-job': 'job-1' });
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual({ error: 'the export failed', refunded: 10 });
      }
    } finally {
      sandbox.setFaults({});
      await app.close();
    }
    const deltas = sandbox.ledger().deltas.filter((d) => d.customerId === 'nest-exports');
    expect(deltas.map((d) => [d.delta, d.reason, d.adjusts?.referenceId ?? null])).toEqual([
      [10, 'top_up', null],
      [-10, 'export', null],
      [10, 'correction', 'nest-gate:export:nest-exports:job-1'],
    ]);
    expect(deltas[2]!.referenceId).toBe('nest-gate:export:nest-exports:job-1~reversal');
    expect(duplicateReferenceIds(sandbox.ledger())).toEqual([]);
  });

  it('a @RequireBalance route without a customerId resolver aborts the start, naming the route', async () => {
    @Controller()
    class NoCustomerController {
      @Get('x') @RequireBalance(2) x() {
        return 'x';
      }
    }
    @Module({ imports: [MeteringModule.forRoot({ enabled: false, logger: silentLogger, balance: { logger: silentLogger } })], controllers: [NoCustomerController] })
    class NoCustomerModule {}
    expect((await bootError(NoCustomerModule)).message).toMatch(/NoCustomerController\.x is gated by @RequireBalance but no customerId resolver applies/);
    expect(() => RequireBalance(-1)).toThrow(/@RequireBalance price/);
  });

  it('an app that gates nothing has no gate (nothing tracked, nothing said); BalanceGuard as APP_GUARD creates it at start-up', async () => {
    @Controller()
    class PlainController {
      @Get('plain') @Metered('api_request') plain() {
        return 'plain';
      }
    }
    const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      @Module({ imports: [MeteringModule.forRoot({ enabled: false, logger: silentLogger, customerId: () => 'acme' })], controllers: [PlainController] })
      class PlainModule {}
      const { app } = await bootNest(PlainModule);
      await app.close();
      expect(warnings.mock.calls.map(([line]) => String(line)).filter((line) => line.includes('balance gate'))).toEqual([]);
    } finally {
      warnings.mockRestore();
    }
    @Module({
      imports: [MeteringModule.forRoot({ enabled: false, logger: silentLogger, customerId: () => 'acme', aggregate: true })],
      controllers: [PlainController],
      providers: [{ provide: APP_GUARD, useClass: BalanceGuard }],
    })
    class AggregatedModule {}
    expect((await bootError(AggregatedModule)).message).toMatch(/^balance: cannot be combined with aggregate/);
  });
});
