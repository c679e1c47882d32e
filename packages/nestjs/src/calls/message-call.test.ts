import { compileRoute } from '../metering/metering.route.js';
import { resolveMeteringOptions } from '../module/metering.options.js';
import { fakeContext, recordingMeter } from '../../test-support/fake-execution-context.js';
import { CallBilling } from '../billing/call-billing.js';
import { mergeMetadata } from '../billing/call-metadata.js';
import { MessageCallAdapter, messageIdOf } from './message-call.js';

class Handlers {
  onMessage() {}
}

function adapterWith(getMessageId: (payload: any) => string) {
  const options = resolveMeteringOptions({ customerId: (payload: { tenant: string }) => payload.tenant });
  const meter = recordingMeter();
  const billing = new CallBilling({ meter: () => meter, buildMetadata: mergeMetadata, warnOnce: () => undefined });
  const adapter = new MessageCallAdapter({ billing, getMessageId });
  const route = compileRoute(options, { reason: 'job_run', delta: (_p: unknown, result: { units: number }) => -result.units }, 'Handlers.onMessage', 'method');
  return { adapter, meter, route };
}

describe.each(['rpc', 'ws'] as const)('MessageCallAdapter (extension point 2, %s: billed when the handler completes)', (type) => {
  it("starts a call under the message id, which bills the handler's result with the handler as metadata", () => {
    const { adapter, meter, route } = adapterWith((payload) => payload.id);
    const context = fakeContext(Handlers, Handlers.prototype.onMessage, type, [{ id: 'msg-1', tenant: 'acme' }]);
    const call = adapter.start(context, route)!;
    expect(call.requestId).toBe('msg-1');
    expect(meter.enqueued).toEqual([]);
    call.result = { units: 4 };
    call.bill();
    expect(meter.enqueued).toEqual([{ customerId: 'acme', delta: -4, reason: 'job_run', requestId: 'msg-1', metadata: { handler: 'Handlers.onMessage' } }]);
  });

  it('starts a call once per argument list', () => {
    const { adapter, route } = adapterWith(() => 'm');
    const context = fakeContext(Handlers, Handlers.prototype.onMessage, type, [{ tenant: 'acme' }]);
    expect(adapter.start(context, route)).toBeDefined();
    expect(adapter.start(context, route)).toBeUndefined();
  });

  it('refuses, naming requestId, a call whose message id could not be found', () => {
    const { adapter, meter, route } = adapterWith(() => { throw new Error('no id'); });
    const call = adapter.start(fakeContext(Handlers, Handlers.prototype.onMessage, type, [{ tenant: 'acme' }]), route)!;
    call.bill();
    expect(meter.enqueued).toEqual([]);
    expect(meter.refused.map((r) => r.field)).toEqual(['requestId']);
  });
});

describe('messageIdOf', () => {
  it('is a fresh UUID without a requestId option, or when the id holds characters a referenceId cannot', () => {
    expect(messageIdOf(undefined, {})).toMatch(/^[0-9a-f-]{36}$/);
    expect(messageIdOf(() => 'has space', {})).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("is the option's answer, a safe integer as its decimal string", () => {
    expect(messageIdOf((p: { id: string }) => p.id, { id: 'job-7' })).toBe('job-7');
    expect(messageIdOf(() => 12, {})).toBe('12');
  });

  it('throws naming requestId when the option throws or returns a Promise', () => {
    expect(() => messageIdOf(() => { throw new Error('x'); }, {})).toThrow(expect.objectContaining({ field: 'requestId' }));
    expect(() => messageIdOf(() => Promise.resolve('a'), {})).toThrow(expect.objectContaining({ field: 'requestId' }));
  });
});
