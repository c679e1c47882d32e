import { NOTHING_TO_BILL } from '@pacspace-metering/core';
import { compileRoute } from '../metering/metering.route.js';
import { resolveMeteringOptions } from '../module/metering.options.js';
import { fakeContext, recordingMeter } from '../../test-support/fake-execution-context.js';
import { CallBilling } from './call-billing.js';
import { mergeMetadata } from './call-metadata.js';

class Completions {
  complete() {}
}
const context = fakeContext(Completions, Completions.prototype.complete, 'http', []);

function billingFor(meters: unknown, customerId: () => unknown = () => 'acme') {
  const meter = recordingMeter('spec');
  const billing = new CallBilling({ meter: () => meter, buildMetadata: mergeMetadata, warnOnce: () => undefined });
  const route = compileRoute(resolveMeteringOptions({ customerId: customerId as never }), meters, 'Completions.complete', 'method');
  return { meter, billing, route };
}

describe('several meters per call (@Metered([...]))', () => {
  const usage = { input: 12, output: 48 };

  it('enqueues one delta per reason under the same request id, from the handler value, each with its own metadata', () => {
    const { meter, billing, route } = billingFor([
      { reason: 'input_tokens', delta: (_req: unknown, r: typeof usage) => -r.input },
      { reason: 'output_tokens', delta: (_req: unknown, r: typeof usage) => -r.output, metadata: { model: 'small' } },
    ]);
    billing.record(route, context, {}, 'req-1', usage, { method: 'POST' });
    expect(meter.enqueued).toEqual([
      { customerId: 'acme', reason: 'input_tokens', delta: -12, requestId: 'req-1', metadata: { method: 'POST' } },
      { customerId: 'acme', reason: 'output_tokens', delta: -48, requestId: 'req-1', metadata: { method: 'POST', model: 'small' } },
    ]);
  });

  it('skips a meter answering NOTHING_TO_BILL, and refuses alone one whose resolver throws, naming meters[i].delta', () => {
    const { meter, billing, route } = billingFor([
      { reason: 'a', delta: () => NOTHING_TO_BILL },
      { reason: 'b', delta: () => { throw new Error('no usage'); } },
      { reason: 'c', delta: -2 },
    ]);
    billing.record(route, context, {}, 'req-2', undefined, {});
    expect(meter.enqueued.map((d) => [d.reason, d.delta])).toEqual([['c', -2]]);
    expect(meter.refused.map((r) => r.field)).toEqual(['meters[1].delta']);
  });

  it('refuses at compile time a repeated reason, or meters combined with reason/delta, naming the field', () => {
    expect(() => billingFor([{ reason: 'a' }, { reason: 'a' }])).toThrow(expect.objectContaining({ option: 'meters[1].reason' }));
    expect(() => billingFor({ reason: 'x', meters: [{ reason: 'a' }] })).toThrow(expect.objectContaining({ option: 'meters' }));
    expect(() => billingFor([])).toThrow(expect.objectContaining({ option: 'meters' }));
  });
});
