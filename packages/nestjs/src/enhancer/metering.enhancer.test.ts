import 'reflect-metadata';
import { Get, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { MeteringConfigError } from '@pacspace-metering/core';
import { Metered } from '../metering/metered.decorator.js';
import { resolveMeteringOptions } from '../module/metering.options.js';
import type { MeteringRuntime } from '../module/metering.providers.js';
import { FakeResponse, fakeContext, recordingMeter } from '../../test-support/fake-execution-context.js';
import type { HttpObject } from './http-object.js';
import { MeteringGuard } from './metering.guard.js';

class Reports {
  @Get(':id') @Metered('report_viewed') view() {}
  @Metered({ reason: 'job_run' }) onJob() {}
}

function runtimeWith(meter = recordingMeter()): MeteringRuntime {
  return { meter, ownsMeter: false, periodic: [], options: resolveMeteringOptions({ customerId: () => 'acme' }), instanceId: 'app1', globalGuard: false };
}

/** A subclass overriding one hook of each kind, as the README shows. */
class TenantGuard extends MeteringGuard {
  protected override getRoute(req: HttpObject): string | undefined {
    return `${req.hostname}${super.getRoute(req) ?? ''}`;
  }
  protected override getRequestId(req: HttpObject): string {
    return `t-${req.headers['x-trace']}`;
  }
  protected override getMessageId(payload: unknown, _context: ExecutionContext): string {
    return `job-${(payload as { n: number }).n}`;
  }
}

describe('MeteringEnhancer: the extension points a subclass overrides reach the units', () => {
  it('bills an HTTP call under the overridden request id, with the overridden route in its metadata', () => {
    const meter = recordingMeter();
    const guard = new TenantGuard(new Reflector(), runtimeWith(meter));
    const res = new FakeResponse();
    const req = { method: 'GET', hostname: 'eu.example', route: { path: '/reports/:id' }, headers: { 'x-trace': 'abc' } };
    expect(guard.canActivate(fakeContext(Reports, Reports.prototype.view, 'http', [req, res]))).toBe(true);
    res.finish();
    expect(meter.enqueued).toEqual([expect.objectContaining({ reason: 'report_viewed', requestId: 't-abc', metadata: { route: 'eu.example/reports/:id', method: 'GET' } })]);
  });

  it('starts a message call under the overridden message id (billed by its observer on completion)', () => {
    const meter = recordingMeter();
    const guard = new TenantGuard(new Reflector(), runtimeWith(meter));
    const args: unknown[] & Record<symbol, unknown> = [{ n: 9 }];
    guard.canActivate(fakeContext(Reports, Reports.prototype.onJob, 'rpc', args));
    const call = Object.getOwnPropertySymbols(args).map((key) => args[key])[0] as { requestId: string; bill(): void };
    expect(call.requestId).toBe('job-9');
    call.bill();
    expect(meter.enqueued).toEqual([expect.objectContaining({ reason: 'job_run', requestId: 'job-9', metadata: { handler: 'Reports.onJob' } })]);
  });

  it('fails the bootstrap, naming MeteringModule, when no module is reachable', () => {
    const guard = new MeteringGuard(new Reflector());
    expect(() => guard.onModuleInit()).toThrow(MeteringConfigError);
  });
});
