import { MeteringConfigError } from '@pacspace-metering/core';
import { FETCH_OPTION_NAMES, HONO_OPTION_NAMES, meterFetch, meterRequests } from '@pacspace-metering/hono';
import { recordingMeter } from '../../express/test-support/harness.js';

const { meter } = recordingMeter();
const customerId = () => 'acme';
const handler = () => new Response('ok');

describe('options: bad configuration fails at start-up, naming the option', () => {
  it.each([
    ['customerId', {}, /^customerId: is required: a function that names who pays \(got undefined\)$/],
    ['customerId', { customerId: 'acme' }, /got "acme"/],
    ['delta', { customerId, delta: 0 }, /; or a function that returns one$/],
    ['delta', { customerId, delta: Number.NaN }, /^delta: /],
    ['reason', { customerId, reason: '' }, /^reason: /],
    ['reason', { customerId, reason: 'x'.repeat(501) }, /^reason: /],
    ['metadata', { customerId, metadata: { plan: 'pro' } }, /^metadata: must be a function \(got object\)$/],
    ['skip', { customerId, skip: true }, /^skip: must be a function/],
    ['requestIdHeader', { customerId, requestIdHeader: 'x request id' }, /^requestIdHeader: must be an HTTP header name/],
    ['responseHeader', { customerId, responseHeader: true }, /^responseHeader: must be an HTTP header name/],
    ['waitUntil', { customerId, waitUntil: 'ctx' }, /^waitUntil: must be a function/],
    ['flushTimeoutMs', { customerId, flushTimeoutMs: 0 }, /^flushTimeoutMs: must be an integer from 1 to 600000 \(got 0\)$/],
    ['trustUpstreamId', { customerId, trustUpstreamId: 'yes' }, /^trustUpstreamId: must be true or false/],
    ['reasn', { customerId, reasn: 'typo' }, /^reasn: is not an option; allowed: customerId, /],
  ])('refuses a bad %s', (option, options, message) => {
    const refused = (() => {
      try {
        meterRequests(meter, options as never);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(MeteringConfigError);
    expect((refused as MeteringConfigError).option).toBe(option);
    expect((refused as Error).message).toMatch(message);
  });

  it('refuses a missing meter, a missing handler, and trustUpstreamId on the fetch wrapper (it has no upstream id)', () => {
    expect(() => meterRequests(undefined as never, { customerId })).toThrow(/^meter: must be a Meter from createMeter\(\)/);
    expect(() => meterFetch(meter, undefined as never, { customerId })).toThrow(/^handler: must be a function/);
    expect(() => meterFetch(meter, handler, { customerId, trustUpstreamId: true } as never)).toThrow(/^trustUpstreamId: is not an option/);
    expect(() => meterFetch(meter, handler, null as never)).toThrow(/^options: must be an object/);
  });

  it('never changes the options object it was given, and lists every option name', () => {
    const options = Object.freeze({ customerId, delta: undefined, reason: 'export' });
    expect(() => meterRequests(meter, options)).not.toThrow();
    expect(options).toEqual({ customerId, delta: undefined, reason: 'export' });
    expect([...HONO_OPTION_NAMES].sort()).toEqual([...FETCH_OPTION_NAMES, 'trustUpstreamId'].sort());
  });
});
