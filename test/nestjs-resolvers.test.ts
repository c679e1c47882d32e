// Issue #13 (items 5, 7, 14) on Nest, both adapters: a resolver that returns a Promise is refused
// (its rejection handled), a requestId resolver that throws refuses the call rather than bill it
// under a random id, an isSuccess that throws is counted like every other refusal, and a numeric
// customerId is billed as its decimal string, exactly as the Express middleware does.
import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DeltaValidationError, type Meter } from '@pacspace-metering/core';
import { METER, Metered, MeteringModule, type MeteringModuleOptions } from '@pacspace-metering/nestjs';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { trackUnhandledRejections } from './support/wait.js';

const customer = (req: { headers: Record<string, string | undefined> }) => req.headers['x-customer'];

@Controller()
class ResolversController {
  @Get('async-customer')
  @Metered({ reason: 'call', customerId: () => Promise.reject(new Error('tenant lookup failed')) })
  asyncCustomer() {
    return 'ok';
  }

  @Get('async-delta')
  @Metered({ reason: 'call', delta: async () => -1 })
  asyncDelta() {
    return 'ok';
  }

  @Get('async-metadata')
  @Metered({ reason: 'call', metadata: () => Promise.reject(new Error('no plan')) as never })
  asyncMetadata() {
    return 'ok';
  }

  @Get('numeric')
  @Metered({ reason: 'call', customerId: () => 12345 })
  numeric() {
    return 'ok';
  }

  @Get('plain')
  @Metered('call')
  plain() {
    return 'ok';
  }
}

describe.each(['Express', 'Fastify'] as const)('Nest resolvers (%s adapter)', (adapter) => {
  const unhandled = trackUnhandledRejections();
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    unhandled.stop();
    await sandbox.close();
  });
  beforeEach(() => sandbox.reset());
  afterEach(() => expect(unhandled.count()).toBe(0));

  /** Boots the controller with `options`, sends GETs to `paths`, closes; returns statuses, stats, errors and the ledger. */
  async function serve(options: MeteringModuleOptions, paths: string[]) {
    const errors: Error[] = [];
    @Module({
      imports: [MeteringModule.forRoot({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'resolvers', customerId: customer, onError: (err) => void errors.push(err), ...options })],
      controllers: [ResolversController],
    })
    class AppModule {}
    const app: INestApplication = await NestFactory.create(AppModule, adapter === 'Express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    const base = await app.getUrl();
    const meter = app.get<Meter>(METER);
    const statuses: number[] = [];
    for (const path of paths) {
      const res = await fetch(`${base}${path}`, { headers: { 'x-customer': 'acme' } });
      await res.text();
      statuses.push(res.status);
    }
    await app.close();
    return { statuses, stats: meter.stats(), errors, ledger: sandbox.ledger() };
  }

  it('refuses a customerId, delta or metadata resolver that returns a Promise, handling its rejection', async () => {
    const { statuses, stats, errors, ledger } = await serve({}, ['/async-customer', '/async-delta', '/async-metadata']);
    expect(statuses).toEqual([200, 200, 200]);
    expect(stats.dropped).toEqual({ invalid: 3 });
    expect(errors.map((e) => [e instanceof DeltaValidationError, (e as DeltaValidationError).field])).toEqual([
      [true, 'customerId'],
      [true, 'delta'],
      [true, 'metadata'],
    ]);
    for (const error of errors) expect(error.message).toMatch(/resolver returned a Promise; resolvers must return the value itself/);
    expect(ledger.deltas).toEqual([]);
  });

  it.each([
    ['throws', () => {
      throw new Error('idempotency store down');
    }, /requestId resolver threw: .*idempotency store down/],
    ['returns a rejected Promise', () => Promise.reject(new Error('async id')), /requestId resolver returned a Promise/],
  ])('a requestId resolver that %s refuses the call (counted, reported), never bills it under a random id', async (_name, requestId, message) => {
    const { statuses, stats, errors, ledger } = await serve({ requestId }, ['/plain', '/plain']);
    expect(statuses).toEqual([200, 200]);
    expect(stats.dropped).toEqual({ invalid: 2 });
    expect(errors).toHaveLength(2);
    for (const error of errors) {
      expect(error).toBeInstanceOf(DeltaValidationError);
      expect((error as DeltaValidationError).field).toBe('requestId');
      expect(error.message).toMatch(message);
    }
    expect(ledger.deltas).toEqual([]);
  });

  it.each([
    ['throws', () => {
      throw new Error('status check bug');
    }],
    ['returns a Promise', async () => true],
  ])('an isSuccess that %s bills nothing, and is counted and reported like a resolver', async (_name, isSuccess) => {
    const { statuses, stats, errors, ledger } = await serve({ isSuccess: isSuccess as never }, ['/plain']);
    expect(statuses).toEqual([200]);
    expect(stats.dropped).toEqual({ invalid: 1 });
    expect(errors.map((e) => (e as DeltaValidationError).field)).toEqual(['isSuccess']);
    expect(ledger.deltas).toEqual([]);
  });

  it('bills a numeric customerId as its decimal string, as the Express middleware does', async () => {
    const { stats, ledger } = await serve({}, ['/numeric']);
    expect(stats.dropped).toEqual({});
    expect(ledger.deltas.map((d) => [d.customerId, d.referenceId.split(':').slice(0, 3).join(':')])).toEqual([['12345', 'resolvers:call:12345']]);
  });
});
