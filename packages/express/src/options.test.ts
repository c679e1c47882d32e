import { MeteringConfigError } from '@pacspace-metering/core';
import { meterRequests, type MeterRequestsOptions } from '@pacspace-metering/express';
import { recordingMeter } from '../test-support/harness.js';

const { meter } = recordingMeter();
const customerId = () => 'acme';

/** Calls meterRequests and returns the MeteringConfigError it threw. */
function configError(run: () => unknown): MeteringConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(MeteringConfigError);
    return err as MeteringConfigError;
  }
  throw new Error('expected a MeteringConfigError');
}

describe('meterRequests() options', () => {
  it('accepts the minimal options and returns an Express middleware', () => {
    const mw = meterRequests(meter, { customerId });
    expect(typeof mw).toBe('function');
    expect(mw.length).toBe(3);
  });

  it.each([
    ['missing customerId', {}, 'customerId', /required/],
    ['non-function customerId', { customerId: 'acme' }, 'customerId', /required: a function/],
    ['delta 0', { customerId, delta: 0 }, 'delta', /non-zero/],
    ['delta NaN', { customerId, delta: Number.NaN }, 'delta', /finite/],
    ['delta Infinity', { customerId, delta: Number.POSITIVE_INFINITY }, 'delta', /finite/],
    ['delta out of range', { customerId, delta: -2e9 }, 'delta', /1e9/],
    ['delta as a string', { customerId, delta: '-1' }, 'delta', /number/],
    ['empty reason', { customerId, reason: '' }, 'reason', /non-empty/],
    ['600-character reason', { customerId, reason: 'x'.repeat(600) }, 'reason', /500 characters/],
    ['reason as a number', { customerId, reason: 5 }, 'reason', /string/],
    ['non-function metadata', { customerId, metadata: { plan: 'pro' } }, 'metadata', /function/],
    ['non-function isSuccess', { customerId, isSuccess: true }, 'isSuccess', /function/],
    ['non-function skip', { customerId, skip: '/health' }, 'skip', /function/],
    ['meterOptionsRequests as a string', { customerId, meterOptionsRequests: 'yes' }, 'meterOptionsRequests', /true or false/],
    ['non-function requestId', { customerId, requestId: 'abc' }, 'requestId', /function/],
    ['requestIdHeader true', { customerId, requestIdHeader: true }, 'requestIdHeader', /header name/],
    ['requestIdHeader with a space', { customerId, requestIdHeader: 'x request id' }, 'requestIdHeader', /header name/],
    ['empty responseHeader', { customerId, responseHeader: '' }, 'responseHeader', /header name/],
    ['unknown option (typo)', { customerId, reasn: 'x' }, 'reasn', /not an option; allowed: customerId, delta, reason/],
  ])('rejects %s, naming the option', (_name, options, option, message) => {
    const err = configError(() => meterRequests(meter, options as unknown as MeterRequestsOptions));
    expect(err.option).toBe(option);
    expect(err.message.startsWith(`${option}: `)).toBe(true);
    expect(err.message).toMatch(message);
  });

  it.each([
    ['undefined', undefined],
    ['a string', 'acme'],
    ['an array', []],
  ])('rejects options that are %s', (_name, options) => {
    expect(configError(() => meterRequests(meter, options as unknown as MeterRequestsOptions)).option).toBe('options');
  });

  it.each([
    ['undefined', undefined],
    ['a plain object', { enqueue: () => undefined }],
    ['an SDK client', { balance: { emit: () => undefined } }],
  ])('rejects a meter that is %s', (_name, candidate) => {
    const err = configError(() => meterRequests(candidate as never, { customerId }));
    expect(err.option).toBe('meter');
    expect(err.message).toMatch(/createMeter\(\)/);
  });

  it('treats undefined values as "use the default" and accepts every documented option', () => {
    expect(() =>
      meterRequests(meter, {
        customerId,
        delta: undefined,
        reason: (req) => req.method.toLowerCase(),
        metadata: () => ({ plan: 'pro' }),
        isSuccess: (_req, res) => res.statusCode < 300,
        skip: (req) => req.path === '/health',
        meterOptionsRequests: true,
        requestId: (req) => req.get('x-trace-id'),
        requestIdHeader: 'X-Request-Id',
        responseHeader: false,
      }),
    ).not.toThrow();
    expect(() => meterRequests(meter, { customerId, delta: (req) => -Number(req.query.units ?? 1), reason: 'r'.repeat(500) })).not.toThrow();
  });

  it('never mutates the options object', () => {
    const options = Object.freeze({ customerId, delta: -3, reason: 'report_generated', responseHeader: undefined });
    const before = { ...options };
    meterRequests(meter, options);
    expect(options).toEqual(before);
  });
});
