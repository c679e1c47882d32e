import 'reflect-metadata';
import { Get, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { MeteringConfigError, createMeter } from '@pacspace-metering/core';
import { GUARDS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { METERED_METADATA, SKIP_METERING_METADATA } from './metering.constants.js';
import { Metered } from '../metering/metered.decorator.js';
import { MeteredResultObserver } from '../metering/metered-result.observer.js';
import { MeteringGuard } from '../enhancer/metering.guard.js';
import { resolveMeteringOptions } from './metering.options.js';
import { compileRoute, selectMetered } from '../metering/metering.route.js';
import { SkipMetering } from '../metering/skip-metering.decorator.js';

const customerId = () => 'acme';

describe('resolveMeteringOptions', () => {
  it('applies the documented defaults and treats undefined values as absent', () => {
    expect(resolveMeteringOptions({ apiKey: undefined, customerId })).toMatchObject({
      meter: undefined,
      meterOptions: {},
      delta: -1,
      reason: undefined,
      metadata: undefined,
      responseHeader: undefined,
      requestIdHeader: undefined,
      shutdownTimeoutMs: 30_000,
    });
    expect(resolveMeteringOptions(undefined).delta).toBe(-1);
    expect(resolveMeteringOptions({ customerId, responseHeader: undefined }).responseHeader).toBeUndefined();
  });

  it('echoes the request id only under a header responseHeader names, lower-cased', () => {
    expect(resolveMeteringOptions({ customerId }).responseHeader).toBeUndefined();
    expect(resolveMeteringOptions({ customerId, responseHeader: 'x-request-id' }).responseHeader).toBe('x-request-id');
    expect(resolveMeteringOptions({ customerId, responseHeader: 'X-Billing-Id' }).responseHeader).toBe('x-billing-id');
  });

  it('splits createMeter options from Nest options, lower-cases header names, and accepts responseHeader: false', () => {
    const resolved = resolveMeteringOptions({ scope: 's', concurrency: 2, customerId, requestIdHeader: 'X-Request-Id', responseHeader: false });
    expect(resolved.meterOptions).toEqual({ scope: 's', concurrency: 2 });
    expect(resolved.requestIdHeader).toBe('x-request-id');
    expect(resolved.responseHeader).toBeUndefined();
  });

  it.each([
    [{ delta: Number.NaN }, 'delta'],
    [{ delta: 2e9 }, 'delta'],
    [{ reason: '' }, 'reason'],
    [{ metadata: new Map() }, 'metadata'],
    [{ isSuccess: true }, 'isSuccess'],
    [{ requestId: 'x' }, 'requestId'],
    [{ meterOptionsRequests: 'yes' }, 'meterOptionsRequests'],
    [{ trustUpstreamId: 1 }, 'trustUpstreamId'],
    [{ responseHeader: 'bad header' }, 'responseHeader'],
    [{ shutdownTimeoutMs: -1 }, 'shutdownTimeoutMs'],
    [{ meter: {} }, 'meter'],
    [{ lgger: {} }, 'lgger'],
  ])('refuses %p naming %s', (options, field) => {
    let error: unknown;
    try {
      resolveMeteringOptions({ customerId, ...(options as object) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MeteringConfigError);
    expect(error).toMatchObject({ option: field });
  });

  it('takes an existing meter alone', async () => {
    const meter = createMeter({ apiKey: 'pk_test_12345678' });
    expect(resolveMeteringOptions({ meter, customerId }).meter).toBe(meter);
    expect(() => resolveMeteringOptions({ meter, apiKey: 'pk_test_12345678' })).toThrow(/^meter: cannot be combined with createMeter options \(apiKey\)/);
    await meter.close();
  });
});

describe('decorators and route selection', () => {
  const reflector = new Reflector();
  const defaults = resolveMeteringOptions({ customerId, reason: 'api_call', metadata: { service: 'x' } });

  @Metered({ reason: 'class_reason', delta: -2 })
  class Annotated {
    inherits() {}
    @Metered('own')
    own() {}
    @SkipMetering()
    skipped() {}
    @Metered({ delta: (_req: unknown, result: { n: number }) => -result.n })
    dynamic() {}
  }

  @SkipMetering()
  class Skipping {
    plain() {}
    @Metered('opted_in')
    optedIn() {}
  }

  class Plain {
    plain() {}
  }

  it('only writes metadata: its options, the guard, and an observer', () => {
    expect(Reflect.getMetadata(METERED_METADATA, Annotated.prototype.own)).toEqual({ reason: 'own' });
    expect(Reflect.getMetadata(METERED_METADATA, Annotated)).toEqual({ reason: 'class_reason', delta: -2 });
    expect(Reflect.getMetadata(SKIP_METERING_METADATA, Annotated.prototype.skipped)).toBe(true);
    expect(Reflect.getMetadata(GUARDS_METADATA, Annotated.prototype.own)).toEqual([MeteringGuard]);
    expect(Reflect.getMetadata(GUARDS_METADATA, Annotated)).toEqual([MeteringGuard]);
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, Annotated.prototype.own)).toEqual([expect.any(MeteredResultObserver)]);
  });

  it('offers Nest an interceptor only where the handler must be observed', () => {
    const observerOf = (target: object) => (Reflect.getMetadata(INTERCEPTORS_METADATA, target) as MeteredResultObserver[])[0]!;
    class Routes {
      @Get('plain') @Metered('plain') plain() {}
      @Metered('plain') @Get('plain-below') plainBelow() {}
      @Get('dynamic') @Metered({ reason: 'dynamic', metadata: (_req: unknown, result: unknown) => ({ result }) }) dynamic() {}
      @Metered('message') message() {}
    }
    expect(observerOf(Routes.prototype.plain).intercept).toBeUndefined();
    expect(observerOf(Routes.prototype.plainBelow).intercept).toBeUndefined();
    expect(observerOf(Routes.prototype.dynamic).intercept).toEqual(expect.any(Function));
    // Not an HTTP route (a message handler): observed, so it is billed when it completes.
    expect(observerOf(Routes.prototype.message).intercept).toEqual(expect.any(Function));

    @Metered('http')
    class HttpOnly {
      @Get() get() {}
    }
    expect(observerOf(HttpOnly).intercept).toBeUndefined();
    @Metered('mixed')
    class WithMessages {
      @Get() get() {}
      @SetMetadata('microservices:pattern', ['orders.create']) create() {}
    }
    expect(observerOf(WithMessages).intercept).toEqual(expect.any(Function));
  });

  it('lets the method win over the class, and a skip win at its own level', () => {
    expect(selectMetered(reflector, Annotated.prototype.inherits, Annotated, undefined)).toEqual({ options: { reason: 'class_reason', delta: -2 }, source: 'class' });
    expect(selectMetered(reflector, Annotated.prototype.own, Annotated, undefined)).toEqual({ options: { reason: 'own' }, source: 'method' });
    expect(selectMetered(reflector, Annotated.prototype.skipped, Annotated, 'api_call')).toBeNull();
    expect(selectMetered(reflector, Skipping.prototype.plain, Skipping, 'api_call')).toBeNull();
    expect(selectMetered(reflector, Skipping.prototype.optedIn, Skipping, undefined)).toEqual({ options: { reason: 'opted_in' }, source: 'method' });
    expect(selectMetered(reflector, Plain.prototype.plain, Plain, undefined)).toBeNull();
    expect(selectMetered(reflector, Plain.prototype.plain, Plain, 'api_call')).toEqual({ options: {}, source: 'module' });
  });

  it('compiles a route from its options and the module defaults, observing the result only when a function needs it', () => {
    const own = compileRoute(defaults, { reason: 'own' }, 'Annotated.own', 'method');
    expect(own).toMatchObject({ reason: 'own', delta: -1, customerId, moduleMetadata: { service: 'x' }, routeMetadata: undefined, needsResult: false });
    const dynamic = compileRoute(defaults, { delta: () => -3 }, 'Annotated.dynamic', 'method');
    expect(dynamic).toMatchObject({ reason: 'api_call', needsResult: true });
    expect(() => compileRoute(defaults, { reason: 'x'.repeat(501) }, 'Annotated.long', 'method')).toThrow(/^reason: @Metered\(\) on Annotated\.long: must be a non-empty string/);
  });
});
