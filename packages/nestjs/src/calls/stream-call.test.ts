import { NOTHING_TO_BILL, type DeltaInput, type Meter } from '@pacspace-metering/core';
import { compileRoute } from '../metering/metering.route.js';
import { resolveMeteringOptions } from '../module/metering.options.js';
import { FakeResponse, fakeContext, recordingMeter } from '../../test-support/fake-execution-context.js';
import { CallBilling } from '../billing/call-billing.js';
import { mergeMetadata } from '../billing/call-metadata.js';
import { StreamCall } from './stream-call.js';

class Streams {
  live() {}
}

function streamCall(routeOptions: unknown, customerId: () => unknown = () => 'acme') {
  const meter = recordingMeter('spec') as ReturnType<typeof recordingMeter> & { skip: Meter['skip'] };
  const skipped: Array<Partial<DeltaInput>> = [];
  meter.skip = (cause, delta) => (skipped.push(delta ?? {}), { accepted: true, skipped: cause });
  const billing = new CallBilling({ meter: () => meter, buildMetadata: mergeMetadata, warnOnce: () => undefined });
  const route = compileRoute(resolveMeteringOptions({ customerId: customerId as never }), routeOptions, 'Streams.live', 'method', true);
  const res = new FakeResponse();
  const call = new StreamCall(billing, route, fakeContext(Streams, Streams.prototype.live, 'http', [{}, res]), {}, 'req-1', () => ({ method: 'GET' }));
  const rows = () => meter.enqueued.map((d) => [d.reason, d.delta, d.metadata?.stream, d.metadata?.units]);
  return { meter, skipped, call, res, rows };
}

describe('StreamCall (a stream route: billed by what was sent, once)', () => {
  it('bills each reason its units once when the response closes fully written', () => {
    const { call, res, rows } = streamCall([{ reason: 'tokens', units: (e: { n: number }) => e.n }, { reason: 'events' }]);
    expect(call.open()).toBe(true);
    call.count({ n: 3 }, false);
    call.count({ n: 4 }, false);
    res.finish();
    call.settle(res as never, true);
    expect(rows()).toEqual([['tokens', -7, 'ended', 7], ['events', -2, 'ended', 2]]);
  });

  it('bills what was sent as aborted when the client cuts the stream, and ignores what comes after', () => {
    const { call, res, rows } = streamCall({ reason: 'events', delta: -2 });
    call.open();
    call.count({}, false);
    call.settle(res as never, true); // closed before fully written: the client went away
    call.count({}, false);
    call.settle(res as never, true);
    expect(rows()).toEqual([['events', -2, 'aborted', 1]]);
  });

  it('bills nothing when the stream failed, or answered an error, before sending anything', () => {
    const failed = streamCall({ reason: 'events' });
    failed.call.open();
    failed.call.fail();
    failed.call.settle(failed.res as never, true);
    const refused = streamCall({ reason: 'events' });
    refused.call.open();
    refused.res.finish(500);
    refused.call.settle(refused.res as never, false);
    expect([...failed.rows(), ...refused.rows()]).toEqual([]);
  });

  it('counts the byte length of file chunks by default', () => {
    const { call, res, rows } = streamCall({ reason: 'bytes', units: undefined, delta: -1 });
    call.open();
    call.count(Buffer.alloc(10), true);
    call.count(new Uint8Array(5), true);
    res.finish();
    call.settle(res as never, true);
    expect(rows()).toEqual([['bytes', -15, 'ended', 15]]);
  });

  it('skips every meter when the customer resolver answers NOTHING_TO_BILL, and counts nothing', () => {
    const { call, skipped, rows } = streamCall([{ reason: 'a' }, { reason: 'b' }], () => NOTHING_TO_BILL);
    expect(call.open()).toBe(false);
    expect(skipped.map((d) => d.reason)).toEqual(['a', 'b']);
    expect(rows()).toEqual([]);
  });

  it('refuses one meter whose units resolver fails, naming it, and bills the others', () => {
    const { call, res, meter, rows } = streamCall([{ reason: 'a', units: () => { throw new Error('bad event'); } }, { reason: 'b' }]);
    call.open();
    call.count({}, false);
    res.finish();
    call.settle(res as never, true);
    expect(meter.refused.map((r) => r.field)).toEqual(['meters[0].units']);
    expect(rows()).toEqual([['b', -1, 'ended', 1]]);
  });
});
