import { claimOnce, claimKey } from '@pacspace-metering/core';
import { compileRoute } from '../metering/metering.route.js';
import { resolveMeteringOptions } from '../module/metering.options.js';
import { fakeContext, recordingMeter } from '../../test-support/fake-execution-context.js';
import { CallBilling } from './call-billing.js';
import { mergeMetadata } from './call-metadata.js';

class Controller {
  handle() {}
}
const context = fakeContext(Controller, Controller.prototype.handle, 'http', []);

function billingFor(routeOptions: Record<string, unknown>, moduleOptions: Record<string, unknown> = {}) {
  const meter = recordingMeter('spec');
  // The enhancer logs once per key; the keys say once per route and field.
  const warnings = new Map<string, string>();
  const route = compileRoute(resolveMeteringOptions({ customerId: (req: { user: string }) => req.user, ...moduleOptions }), routeOptions, 'Controller.handle', 'method');
  const billing = new CallBilling({ meter: () => meter, buildMetadata: mergeMetadata, warnOnce: (key, message) => warnings.set(key, message) });
  return { meter, warnings, route, billing };
}

describe('CallBilling (extension point 3: a finished call becomes one delta)', () => {
  it("enqueues the route's reason, the resolved customer and delta, under the call's request id, with the metadata merged", () => {
    const { meter, route, billing } = billingFor({ reason: 'report', delta: (_req: unknown, result: { pages: number }) => -result.pages, metadata: { kind: 'pdf' } }, { metadata: { app: 'reports' } });
    billing.record(route, context, { user: 'acme' }, 'req-1', { pages: 3 }, { route: '/r', method: 'POST' });
    expect(meter.enqueued).toEqual([{ customerId: 'acme', delta: -3, reason: 'report', requestId: 'req-1', metadata: { route: '/r', method: 'POST', app: 'reports', kind: 'pdf' } }]);
  });

  it('turns a safe-integer customer id into its decimal string', () => {
    const { meter, route, billing } = billingFor({ reason: 'r', customerId: () => 42 });
    billing.record(route, context, {}, 'req-2', undefined, {});
    expect(meter.enqueued[0]?.customerId).toBe('42');
  });

  it.each([
    ['customerId', { reason: 'r', customerId: () => { throw new Error('no user'); } }],
    ['customerId', { reason: 'r', customerId: () => Promise.resolve('acme') }],
    ['delta', { reason: 'r', delta: () => { throw new Error('no usage'); } }],
    ['delta', { reason: 'r', delta: () => Promise.resolve(-1) }],
    ['metadata', { reason: 'r', metadata: () => new Map() }],
  ])('refuses, naming %s, a resolver that throws, returns a Promise or a non-plain object; logged under one key per route and field', (field, options) => {
    const { meter, route, billing, warnings } = billingFor(options);
    billing.record(route, context, { user: 'acme' }, 'req-3', undefined, {});
    billing.record(route, context, { user: 'acme' }, 'req-4', undefined, {});
    expect(meter.enqueued).toEqual([]);
    expect(meter.refused.map((r) => r.field)).toEqual([field, field]);
    expect([...warnings.keys()]).toEqual([`Controller.handle:${field}`]);
    expect(warnings.get(`Controller.handle:${field}`)).toContain('Controller.handle');
  });

  it('enqueues nothing when the Express middleware already claimed the same delta on this request', () => {
    const { meter, route, billing } = billingFor({ reason: 'r' });
    const req = { user: 'acme', res: { locals: {} } };
    claimOnce(req.res.locals, claimKey('spec', 'r', 'acme'));
    billing.record(route, context, req, 'req-5', undefined, {});
    billing.record(route, context, { user: 'other', res: { locals: {} } }, 'req-6', undefined, {});
    expect(meter.enqueued.map((d) => d.customerId)).toEqual(['other']);
  });
});
