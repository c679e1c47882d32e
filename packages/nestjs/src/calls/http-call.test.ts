import { compileRoute } from '../metering/metering.route.js';
import { CALL } from '../module/metering.constants.js';
import { resolveMeteringOptions } from '../module/metering.options.js';
import { FakeResponse, fakeContext, recordingMeter } from '../../test-support/fake-execution-context.js';
import { CallBilling } from '../billing/call-billing.js';
import { mergeMetadata } from '../billing/call-metadata.js';
import { HttpCallAdapter, isSuccessfulResponse, type HttpCallHooks } from './http-call.js';

class Controller {
  handle() {}
}

/** The module options echo the id in x-request-id (off by default) unless `moduleOptions` says otherwise. */
function adapterWith(routeOptions: Record<string, unknown> = { reason: 'r' }, hooks: Partial<HttpCallHooks> = {}, moduleOptions: Record<string, unknown> = { responseHeader: 'x-request-id' }) {
  const options = resolveMeteringOptions({ customerId: () => 'acme', ...moduleOptions });
  const meter = recordingMeter();
  const billing = new CallBilling({ meter: () => meter, buildMetadata: mergeMetadata, warnOnce: () => undefined });
  let ids = 0;
  const adapter = new HttpCallAdapter({
    billing,
    options,
    acceptAtEnd: false,
    getRequestId: () => `req-${++ids}`,
    isSuccess: (_req, _res, raw) => raw.statusCode < 400,
    httpMetadata: (req) => ({ method: req.method }),
    ...hooks,
  });
  const route = compileRoute(options, routeOptions, 'Controller.handle', 'method');
  const call = (method = 'GET') => {
    const res = new FakeResponse();
    const args: unknown[] = [{ method, headers: {} }, res];
    return { res, args, context: fakeContext(Controller, Controller.prototype.handle, 'http', args) };
  };
  return { adapter, route, meter, call };
}

describe('HttpCallAdapter (extension point 2, http: when a request counts as done)', () => {
  it('echoes the request id and bills once when the response closes fully written with a success status', () => {
    const { adapter, route, meter, call } = adapterWith();
    const { res, context } = call();
    adapter.start(context, route);
    expect(res.headers.get('x-request-id')).toBe('req-1');
    expect(meter.enqueued).toEqual([]);
    res.finish(201);
    expect(meter.enqueued).toEqual([expect.objectContaining({ customerId: 'acme', reason: 'r', requestId: 'req-1', metadata: { method: 'GET' } })]);
  });

  it('does not echo the request id by default, and still bills under it', () => {
    const { adapter, route, meter, call } = adapterWith({ reason: 'r' }, {}, {});
    const { res, context } = call();
    adapter.start(context, route);
    res.finish();
    expect(res.headers.size).toBe(0);
    expect(meter.enqueued).toEqual([expect.objectContaining({ customerId: 'acme', reason: 'r', requestId: 'req-1' })]);
  });

  it('echoes the request id under the header responseHeader names', () => {
    const { adapter, route, call } = adapterWith({ reason: 'r' }, {}, { responseHeader: 'X-Billing-Id' });
    const { res, context } = call();
    adapter.start(context, route);
    expect([...res.headers]).toEqual([['x-billing-id', 'req-1']]);
  });

  it('bills nothing for a response the client abandoned, nor for an error status', () => {
    const { adapter, route, meter, call } = adapterWith();
    const aborted = call();
    adapter.start(aborted.context, route);
    aborted.res.abort();
    const failed = call();
    adapter.start(failed.context, route);
    failed.res.finish(500);
    expect(meter.enqueued).toEqual([]);
  });

  it('starts a call once: a second guard on the same argument list is a no-op', () => {
    const { adapter, route, meter, call } = adapterWith();
    const { res, context } = call();
    adapter.start(context, route);
    adapter.start(context, route);
    res.finish();
    expect(meter.enqueued).toHaveLength(1);
  });

  it('leaves a CORS preflight alone: no header, no listener', () => {
    const { adapter, route, meter, call } = adapterWith();
    const res = new FakeResponse();
    const args = [{ method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' } }, res];
    adapter.start(fakeContext(Controller, Controller.prototype.handle, 'http', args), route);
    res.finish();
    expect(res.headers.size).toBe(0);
    expect(meter.enqueued).toEqual([]);
  });

  it('refuses, naming requestId, a successful call whose id could not be found, echoing a fresh UUID', () => {
    const { adapter, route, meter, call } = adapterWith({ reason: 'r' }, { getRequestId: () => { throw new Error('no id'); } });
    const { res, context } = call();
    adapter.start(context, route);
    res.finish();
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(meter.enqueued).toEqual([]);
    expect(meter.refused.map((r) => r.field)).toEqual(['requestId']);
  });

  it("hands a route that needs the handler's value a pending call, found on the raw response, whose result is billed", () => {
    const { adapter, route, meter, call } = adapterWith({ reason: 'r', delta: (_req: unknown, result: { n: number }) => -result.n });
    const { res, context } = call();
    const pending = adapter.start(context, route);
    expect((res as unknown as Record<symbol, unknown>)[CALL]).toBe(pending);
    pending!.result = { n: 7 };
    res.finish();
    expect(meter.enqueued[0]?.delta).toBe(-7);
  });
});

describe('isSuccessfulResponse', () => {
  const meter = recordingMeter();
  const billing = new CallBilling({ meter: () => meter, buildMetadata: mergeMetadata, warnOnce: () => undefined });
  const raw = Object.assign(new FakeResponse(), { statusCode: 404 }) as never;

  it('is a status below 400 without an isSuccess option, else what the option answers', () => {
    expect(isSuccessfulResponse(undefined, billing, {}, {}, raw)).toBe(false);
    expect(isSuccessfulResponse(() => true, billing, {}, {}, raw)).toBe(true);
  });

  it('is false, and refused naming isSuccess, when the option throws or returns a Promise', () => {
    expect(isSuccessfulResponse(() => { throw new Error('x'); }, billing, {}, {}, raw)).toBe(false);
    expect(isSuccessfulResponse(() => Promise.resolve(true) as never, billing, {}, {}, raw)).toBe(false);
    expect(meter.refused.map((r) => r.field)).toEqual(['isSuccess', 'isSuccess']);
  });
});
