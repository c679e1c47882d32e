import 'reflect-metadata';
import { Controller, Get, Sse } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Metered } from '../metering/metered.decorator.js';
import { SkipMetering } from '../metering/skip-metering.decorator.js';
import { BillingRequestId } from '../metering/billing-request-id.decorator.js';
import { resolveMeteringOptions, type ResolvedMeteringOptions } from '../module/metering.options.js';
import { fakeContext } from '../../test-support/fake-execution-context.js';
import { RouteSettings } from './route-settings.js';

const customerId = () => 'acme';

@Metered('report_viewed')
class ReportsController {
  @Get() list() {}
  @Get('one') @Metered({ reason: 'report_generated', delta: -5 }) one() {}
  @Get('health') @SkipMetering() health() {}
  @Sse('live') @Metered('live_report') live() {}
  @Get('bad') @Metered({ reason: 'bad', delta: 0 }) bad() {}
}

class PlainController {
  @Get() plain() {}
}

function settingsWith(options: ResolvedMeteringOptions) {
  const warnings: string[] = [];
  const settings = new RouteSettings(new Reflector(), () => options, (_key, message) => warnings.push(message));
  const of = (cls: Function, name: string) => settings.of(fakeContext(cls, (cls.prototype as Record<string, Function>)[name]!, 'http', []));
  return { of, warnings };
}

describe('RouteSettings (extension point 1: which settings a handler is metered with)', () => {
  const noDefault = resolveMeteringOptions({ customerId });

  it("takes a method's own @Metered over its class's, and the class's for undecorated methods", () => {
    const { of } = settingsWith(noDefault);
    expect(of(ReportsController, 'one')).toMatchObject({ reason: 'report_generated', delta: -5, source: 'method', where: 'ReportsController.one' });
    expect(of(ReportsController, 'list')).toMatchObject({ reason: 'report_viewed', delta: -1, source: 'class' });
  });

  it('compiles a handler once: the same settings object answers every later call', () => {
    const { of } = settingsWith(noDefault);
    expect(of(ReportsController, 'one')).toBe(of(ReportsController, 'one'));
  });

  it('meters nothing for @SkipMetering(), nor an undecorated handler without a module reason', () => {
    const { of } = settingsWith(noDefault);
    expect(of(ReportsController, 'health')).toBeNull();
    expect(of(PlainController, 'plain')).toBeNull();
  });

  it("falls back to the module's reason for undecorated handlers", () => {
    const { of } = settingsWith(resolveMeteringOptions({ customerId, reason: 'api_request' }));
    expect(of(PlainController, 'plain')).toMatchObject({ reason: 'api_request', source: 'module' });
  });

  it('meters an @Sse() route with an explicit @Metered as a stream, and leaves it alone under the module default', () => {
    expect(settingsWith(noDefault).of(ReportsController, 'live')).toMatchObject({ reason: 'live_report', stream: true, delta: -1 });
    @Controller()
    class Live {
      @Sse('feed') feed() {}
    }
    expect(settingsWith(resolveMeteringOptions({ customerId, reason: 'api_request' })).of(Live, 'feed')).toBeNull();
  });

  it('records that a handler reads @BillingRequestId(), so its id is kept for it', () => {
    class WithId {
      @Get() @Metered('r') read(@BillingRequestId() _id: string) {}
    }
    expect(settingsWith(noDefault).of(WithId, 'read')).toMatchObject({ exposesRequestId: true });
    expect(settingsWith(noDefault).of(ReportsController, 'one')?.exposesRequestId).toBeUndefined();
  });

  it('leaves a route whose settings cannot work unmetered, warning once with the field', () => {
    const { of, warnings } = settingsWith(noDefault);
    expect(of(ReportsController, 'bad')).toBeNull();
    expect(warnings).toEqual([expect.stringMatching(/ReportsController\.bad.*delta/)]);
  });

  it('compiles a handler inherited by two controllers for each of them', () => {
    @Metered('child_call')
    class Child extends PlainController {}
    const { of } = settingsWith(resolveMeteringOptions({ customerId, reason: 'api_request' }));
    expect(of(PlainController, 'plain')).toMatchObject({ reason: 'api_request', where: 'PlainController.plain' });
    expect(of(Child, 'plain')).toMatchObject({ reason: 'child_call', where: 'Child.plain' });
  });
});
