import 'reflect-metadata';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Controller, Get, Injectable, Module, Post, SetMetadata, Sse, type INestApplication, type INestApplicationContext, type MessageEvent, type Type } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, ExternalContextCreator, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DeltaValidationError, buildReferenceId, createMeter, type Meter } from '@pacspace-metering/core';
import { METER, Metered, MeteringGuard, MeteringInterceptor, MeteringModule, SkipMetering, type MeteringModuleOptions } from '@pacspace-metering/nestjs';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { of, throwError, type Observable } from 'rxjs';
import { bootError, bootNest } from './support/nest-apps.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function call(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const customerId = (req: { headers: Record<string, string | undefined> }) => req.headers['x-customer'];

function boot(module: Type<unknown>, adapter: 'Express' | 'Fastify'): Promise<{ app: INestApplication; base: string }> {
  return bootNest(module, adapter === 'Express' ? new ExpressAdapter() : new FastifyAdapter());
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

/** The tests read the billed id from the echo header, which is off unless named. */
function meteringOptions(scope: string, extra: MeteringModuleOptions = {}): MeteringModuleOptions {
  return { apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope, customerId, responseHeader: 'x-request-id', ...extra };
}

describe.each(['Express', 'Fastify'] as const)('decorators (%s adapter)', (adapter) => {
  it('class-level @Metered applies to every route; a method @Metered replaces it; @SkipMetering excludes a method', async () => {
    @Controller('reports')
    @Metered({ reason: 'report_viewed', delta: -2, metadata: { tier: 'class' } })
    class ReportsController {
      @Get()
      list() {
        return [];
      }

      @Get('one')
      one() {
        return {};
      }

      @Post()
      @Metered({ reason: 'report_generated', delta: -5 })
      create() {
        return { id: 1 };
      }

      @Get('health')
      @SkipMetering()
      health() {
        return 'ok';
      }
    }
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('classy'))], controllers: [ReportsController] })
    class AppModule {}

    const { app, base } = await boot(AppModule, adapter);
    const h = { 'x-customer': 'acme' };
    const replies = [await call(base, 'GET', '/reports', h), await call(base, 'GET', '/reports/one', h), await call(base, 'POST', '/reports', h), await call(base, 'GET', '/reports/health', h)];
    expect(replies.map((r) => r.status)).toEqual([200, 200, 201, 200]);
    // Skipped routes are not touched at all: no request id echoed.
    expect(replies[3]!.headers['x-request-id']).toBeUndefined();
    await app.close();

    const deltas = sandbox.ledger().deltas.map((d) => ({ reason: d.reason, delta: d.delta, metadata: d.metadata, referenceId: d.referenceId }));
    const ref = (reason: string, reply: Reply) => buildReferenceId({ scope: 'classy', operation: reason, customerId: 'acme', requestId: reply.headers['x-request-id'] as string });
    expect(deltas).toEqual(
      expect.arrayContaining([
        { reason: 'report_viewed', delta: -2, metadata: { route: '/reports', method: 'GET', tier: 'class' }, referenceId: ref('report_viewed', replies[0]!) },
        { reason: 'report_viewed', delta: -2, metadata: { route: '/reports/one', method: 'GET', tier: 'class' }, referenceId: ref('report_viewed', replies[1]!) },
        // The method's options replace the class's whole (no tier from the class).
        { reason: 'report_generated', delta: -5, metadata: { route: '/reports', method: 'POST' }, referenceId: ref('report_generated', replies[2]!) },
      ]),
    );
    expect(deltas).toHaveLength(3);
  });

  it.each([
    ['MeteringInterceptor as APP_INTERCEPTOR', [{ provide: APP_INTERCEPTOR, useClass: MeteringInterceptor }]],
    ['MeteringGuard as APP_GUARD', [{ provide: APP_GUARD, useClass: MeteringGuard }]],
    ['both', [{ provide: APP_GUARD, useClass: MeteringGuard }, { provide: APP_INTERCEPTOR, useClass: MeteringInterceptor }]],
  ])('%s with a module default reason meters every route; a route with @Metered too is billed once', async (_binding, globalProviders) => {
    @Controller()
    class EverythingController {
      @Get('a')
      a() {
        return 'a';
      }

      @Post('b')
      b() {
        return 'b';
      }

      @Get('special')
      @Metered({ reason: 'special_call', delta: -10 })
      special() {
        return 'special';
      }

      @Get('twice')
      @Metered()
      twice() {
        return 'twice';
      }

      @Get('free')
      @SkipMetering()
      free() {
        return 'free';
      }

      @Sse('events')
      events(): Observable<MessageEvent> {
        return of({ data: 'hello' });
      }
    }
    @Module({
      imports: [MeteringModule.forRoot(meteringOptions('global', { reason: 'api_call' }))],
      controllers: [EverythingController],
      providers: globalProviders,
    })
    class AppModule {}

    const { app, base } = await boot(AppModule, adapter);
    const h = { 'x-customer': 'globex' };
    const replies = await Promise.all([
      call(base, 'GET', '/a', h),
      call(base, 'POST', '/b', h),
      call(base, 'GET', '/special', h),
      call(base, 'GET', '/twice', h),
      call(base, 'GET', '/free', h),
      call(base, 'GET', '/events', h),
      call(base, 'GET', '/nowhere', h),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 201, 200, 200, 200, 200, 404]);
    expect(replies[5]!.body).toContain('data: hello');
    const meter = app.get<Meter>(METER);
    await app.close();
    // Two enhancers ran on /twice (the global one and @Metered's guard); the call was started once.
    expect(meter.stats()).toMatchObject({ accepted: 4, deduplicated: 0 });

    const ledger = sandbox.ledger();
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.deltas.map((d) => `${d.reason}:${d.delta}:${(d.metadata as { route: string }).route}`).sort()).toEqual(
      ['api_call:-1:/a', 'api_call:-1:/b', 'api_call:-1:/twice', 'special_call:-10:/special'].sort(),
    );
  });

  it('a resolver that throws or returns nothing never changes the response; the delta is refused, counted and reported', async () => {
    const errors: Error[] = [];
    @Controller()
    class FlakyController {
      @Get('anonymous')
      @Metered('call')
      anonymous() {
        return 'ok';
      }

      @Get('thrower')
      @Metered({
        reason: 'call',
        customerId: () => {
          throw new Error('no tenant');
        },
      })
      thrower() {
        return 'ok';
      }

      @Get('bad-delta')
      @Metered({ reason: 'call', delta: () => Number.NaN })
      badDelta() {
        return 'ok';
      }
    }
    @Module({
      imports: [MeteringModule.forRoot(meteringOptions('flaky', { onError: (err) => errors.push(err) }))],
      controllers: [FlakyController],
    })
    class AppModule {}

    const { app, base } = await boot(AppModule, adapter);
    const meter = app.get<Meter>(METER);
    const replies = [await call(base, 'GET', '/anonymous'), await call(base, 'GET', '/thrower', { 'x-customer': 'a' }), await call(base, 'GET', '/bad-delta', { 'x-customer': 'a' })];
    expect(replies.map((r) => [r.status, r.body])).toEqual([
      [200, 'ok'],
      [200, 'ok'],
      [200, 'ok'],
    ]);
    await app.close();
    expect(meter.stats().dropped).toEqual({ invalid: 3 });
    expect(errors.map((e) => (e as DeltaValidationError).field)).toEqual(['customerId', 'customerId', 'delta']);
    expect(errors.every((e) => e instanceof DeltaValidationError)).toBe(true);
    expect(sandbox.ledger().deltas).toEqual([]);
  });
});

describe('request ids', () => {
  @Controller()
  class IdController {
    @Get('id')
    @Metered('call')
    id() {
      return 'ok';
    }

    @Get('other')
    @Metered('call')
    other() {
      return 'ok';
    }
  }
  /** What a client-chosen id (trusted header or req.id) is bound to: `.{16 hex of sha256(method + ' ' + URL)}`. */
  const boundTo = (call: string) => `.${createHash('sha256').update(call).digest('hex').slice(0, 16)}`;
  const referenceIdOf = (reply: Reply) => buildReferenceId({ scope: 'ids', operation: 'call', customerId: 'a', requestId: (reply.headers['x-billing-id'] ?? reply.headers['x-request-id']) as string });

  it('echoes a generated id (Express), trusts a header only when named, bound to the call, and keeps two Fastify apps in one process apart', async () => {
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('ids', { requestIdHeader: 'X-Correlation-Id', responseHeader: 'x-billing-id' }))], controllers: [IdController] })
    class TrustingModule {}
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('ids'))], controllers: [IdController] })
    class DefaultModule {}
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('ids', { trustUpstreamId: true }))], controllers: [IdController] })
    class UpstreamModule {}

    const trusting = await boot(TrustingModule, 'Express');
    const named = await call(trusting.base, 'GET', '/id', { 'x-customer': 'a', 'x-correlation-id': 'edge-123' });
    const hostile = await call(trusting.base, 'GET', '/id', { 'x-customer': 'a', 'x-correlation-id': 'has spaces; drop table' });
    await trusting.app.close();
    expect(named.headers['x-billing-id']).toBe(`edge-123${boundTo('GET /id')}`);
    expect(hostile.headers['x-billing-id']).toMatch(/^[0-9a-f-]{36}$/);

    const plain = await boot(DefaultModule, 'Express');
    const ignored = await call(plain.base, 'GET', '/id', { 'x-customer': 'a', 'x-request-id': 'client-chosen' });
    await plain.app.close();
    expect(ignored.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    // Fastify's req.id is not trusted by default (Fastify 4 even reads it from a request-id header).
    const untrusted = await boot(DefaultModule, 'Fastify');
    const fresh = await call(untrusted.base, 'GET', '/id', { 'x-customer': 'a' });
    await untrusted.app.close();
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    // Trusted, Fastify numbers requests req-1, req-2, ... in every instance: two apps in one process must not collide.
    const first = await boot(UpstreamModule, 'Fastify');
    const one = await call(first.base, 'GET', '/id', { 'x-customer': 'a' });
    await first.app.close();
    const second = await boot(UpstreamModule, 'Fastify');
    const two = await call(second.base, 'GET', '/id', { 'x-customer': 'a' });
    await second.app.close();
    const counterOnId = new RegExp(`^[0-9a-f]{12}-req-1\\${boundTo('GET /id')}$`);
    expect(one.headers['x-request-id']).toMatch(counterOnId);
    expect(two.headers['x-request-id']).toMatch(counterOnId);
    expect(one.headers['x-request-id']).not.toBe(two.headers['x-request-id']);

    const refs = sandbox.ledger().deltas.map((d) => d.referenceId);
    expect(refs.sort()).toEqual([named, hostile, ignored, fresh, one, two].map(referenceIdOf).sort());
  });

  it.each(['Express', 'Fastify'] as const)('%s: a trusted id replayed on another route is another call: billed, never a 409; its retry is billed once', async (adapter) => {
    const errors: Error[] = [];
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('ids', { requestIdHeader: 'x-request-id', onError: (err) => void errors.push(err) }))], controllers: [IdController] })
    class TrustingModule {}
    const { app, base } = await boot(TrustingModule, adapter);
    const headers = { 'x-customer': 'a', 'x-request-id': 'reused' };
    const replies = [await call(base, 'GET', '/id', headers), await call(base, 'GET', '/other', headers), await call(base, 'GET', '/other', headers)];
    const meter = app.get<Meter>(METER);
    await app.close();
    expect(replies.map((r) => r.headers['x-request-id'])).toEqual([`reused${boundTo('GET /id')}`, `reused${boundTo('GET /other')}`, `reused${boundTo('GET /other')}`]);
    expect(sandbox.ledger().deltas.map((d) => d.referenceId).sort()).toEqual([...new Set(replies.map(referenceIdOf))].sort());
    expect(sandbox.ledger().counts.conflicts).toBe(0);
    expect(meter.stats()).toMatchObject({ delivered: 3, deduplicated: 1, dropped: {} });
    expect(errors).toEqual([]);
  });
});

describe('start-up checks', () => {
  // Issue 21: @Metered on an @Sse() route makes it a stream route, billed by the events it sent
  // (it was refused before); its delta is then an amount per unit, so a function is refused.
  it('refuses a function delta on an @Sse() route (the amount per event must be a number), naming the route', async () => {
    @Controller()
    class StreamController {
      @Sse('stream')
      @Metered({ reason: 'stream_event', delta: () => -1 })
      stream(): Observable<MessageEvent> {
        return of({ data: 1 });
      }
    }
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('sse'))], controllers: [StreamController] })
    class AppModule {}
    const err = await bootError(AppModule);
    expect(err.message).toContain('StreamController.stream');
    expect(err.message).toContain('stream route');
  });

  it('meters an @Sse() route a class-level @Metered covers as a stream (refusing a function delta there), unless that route skips', async () => {
    @Controller()
    @Metered({ reason: 'call', delta: () => -1 })
    class MixedController {
      @Get()
      get() {
        return 'ok';
      }

      @Sse('stream')
      stream(): Observable<MessageEvent> {
        return of({ data: 1 });
      }
    }
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('sse'))], controllers: [MixedController] })
    class Refused {}
    expect((await bootError(Refused)).message).toContain('MixedController.stream');

    @Controller()
    @Metered({ reason: 'call', delta: () => -1 })
    class SkippingController {
      @Sse('stream')
      @SkipMetering()
      stream(): Observable<MessageEvent> {
        return of({ data: 1 });
      }
    }
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('sse'))], controllers: [SkippingController] })
    class Accepted {}
    const app = await NestFactory.create(Accepted, new ExpressAdapter(), { logger: false, abortOnError: false });
    await app.init();
    await app.close();
  });

  it('refuses a route without a reason or a customerId, or with a bad delta, naming the route and the field', async () => {
    @Controller()
    class NoReason {
      @Get()
      @Metered()
      get() {
        return 'ok';
      }
    }
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('checks'))], controllers: [NoReason] })
    class A {}
    const a = await bootError(A);
    expect(a).toMatchObject({ name: 'MeteringConfigError', option: 'reason' });
    expect(a.message).toContain('NoReason.get');

    @Controller()
    class NoCustomer {
      @Get()
      @Metered('call')
      get() {
        return 'ok';
      }
    }
    @Module({ imports: [MeteringModule.forRoot({ apiKey: sandbox.apiKey, baseUrl: sandbox.url })], controllers: [NoCustomer] })
    class B {}
    expect(await bootError(B)).toMatchObject({ option: 'customerId', message: expect.stringContaining('NoCustomer.get') });

    @Controller()
    class BadDelta {
      @Get()
      @Metered({ reason: 'call', delta: 0 })
      get() {
        return 'ok';
      }
    }
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('checks'))], controllers: [BadDelta] })
    class C {}
    expect(await bootError(C)).toMatchObject({ option: 'delta', message: expect.stringContaining('BadDelta.get') });

    @Controller()
    class Typo {
      @Get()
      @Metered({ reasn: 'call' } as never)
      get() {
        return 'ok';
      }
    }
    @Module({ imports: [MeteringModule.forRoot(meteringOptions('checks'))], controllers: [Typo] })
    class D {}
    expect(await bootError(D)).toMatchObject({ option: 'reasn', message: expect.stringContaining('Typo.get') });
  });
});

describe('non-HTTP handlers (microservices)', () => {
  // @nestjs/microservices is not installed here. Nest's ExternalContextCreator runs a provider's
  // handler the way GraphQL and other transports do (guards, interceptors, the observable reduced to
  // its last value), here in an 'rpc' context. The pattern metadata is what @MessagePattern() writes.
  const MessagePattern = (pattern: string) => SetMetadata('microservices:pattern', [pattern]);

  @Injectable()
  class OrdersController {
    @MessagePattern('orders.create')
    @Metered({ reason: 'order_created', delta: (_payload, result: { units: number }) => -result.units })
    create(_payload: unknown) {
      return of({ units: 1 }, { units: 4 });
    }

    // @Metered above the pattern: the same.
    @Metered('order_cancelled')
    @MessagePattern('orders.cancel')
    async cancel(_payload: unknown) {
      return { cancelled: true };
    }

    @MessagePattern('orders.fail')
    @Metered('order_failed')
    fail(_payload: unknown) {
      return throwError(() => new Error('nope'));
    }

    @MessagePattern('orders.ping')
    ping(_payload: unknown) {
      return 'pong';
    }
  }

  function recordingMeter() {
    const sent: Array<{ customerId: string; delta: number; reason: string; referenceId?: string }> = [];
    const meter = createMeter({
      scope: 'rpc',
      client: { balance: { emit: async (customerId, delta, reason, options) => (sent.push({ customerId, delta, reason, referenceId: options?.referenceId }), { recordId: 'r' }) } },
    });
    return { meter, sent };
  }
  const options = (meter: Meter, extra: MeteringModuleOptions = {}): MeteringModuleOptions => ({
    meter,
    customerId: (payload: { tenant: string }) => payload.tenant,
    requestId: (payload: { messageId: string }) => payload.messageId,
    ...extra,
  });

  async function dispatch(app: INestApplicationContext, method: keyof OrdersController, payload: unknown): Promise<unknown> {
    const creator = app.get(ExternalContextCreator);
    const instance = app.get(OrdersController);
    const handler = creator.create(instance, instance[method], method, undefined, undefined, undefined, undefined, { guards: true, interceptors: true, filters: false }, 'rpc');
    return handler(payload, { pattern: method });
  }

  it('@Metered bills when the handler observable completes, with its last value, and never when it errors', async () => {
    const { meter, sent } = recordingMeter();
    @Module({ imports: [MeteringModule.forRoot(options(meter))], providers: [OrdersController] })
    class RpcModule {}
    const app = await NestFactory.createApplicationContext(RpcModule, { logger: false, abortOnError: false });
    expect(await dispatch(app, 'create', { tenant: 'acme', messageId: 'm-1' })).toEqual({ units: 4 });
    expect(await dispatch(app, 'cancel', { tenant: 'acme', messageId: 'm-2' })).toEqual({ cancelled: true });
    await expect(dispatch(app, 'fail', { tenant: 'acme', messageId: 'm-3' })).rejects.toThrow('nope');
    expect(await dispatch(app, 'ping', { tenant: 'acme', messageId: 'm-4' })).toBe('pong');
    await app.close(); // flushes the given meter, does not close it
    expect(meter.stats().closed).toBe(false);
    expect(sent.sort((a, b) => a.reason.localeCompare(b.reason))).toEqual([
      { customerId: 'acme', delta: -1, reason: 'order_cancelled', referenceId: 'rpc:order_cancelled:acme:m-2' },
      { customerId: 'acme', delta: -4, reason: 'order_created', referenceId: 'rpc:order_created:acme:m-1' },
    ]);
    await meter.close();
  });

  it('a global MeteringInterceptor with a module reason bills every message handler, once', async () => {
    const { meter, sent } = recordingMeter();
    @Module({
      imports: [MeteringModule.forRoot(options(meter, { reason: 'message' }))],
      providers: [OrdersController, { provide: APP_INTERCEPTOR, useClass: MeteringInterceptor }],
    })
    class RpcModule {}
    const app = await NestFactory.createApplicationContext(RpcModule, { logger: false, abortOnError: false });
    await dispatch(app, 'create', { tenant: 'acme', messageId: 'm-1' });
    await dispatch(app, 'ping', { tenant: 'acme', messageId: 'm-2' });
    await app.close();
    expect(sent.map((d) => d.referenceId).sort()).toEqual(['rpc:message:acme:m-2', 'rpc:order_created:acme:m-1']);
    expect(meter.stats()).toMatchObject({ accepted: 2, deduplicated: 0 });
    await meter.close();
  });
});
