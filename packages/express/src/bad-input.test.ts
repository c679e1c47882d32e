import { DeltaValidationError, NOTHING_TO_BILL } from '@pacspace-metering/core';
import { meterRequests, type MeterRequestsOptions } from '@pacspace-metering/express';
import express from 'express';
import { listen, recordingMeter } from '../test-support/harness.js';

/**
 * Bad data at run time never changes the response and never crashes: the delta is refused by the
 * meter, counted in stats().dropped.invalid and reported through onDrop/onError.
 */
describe('resolvers that throw or return what PacSpace would reject', () => {
  async function serve(options: Omit<MeterRequestsOptions, 'customerId'> & { customerId?: MeterRequestsOptions['customerId'] }) {
    const recorded = recordingMeter();
    const app = express();
    app.use(meterRequests(recorded.meter, { customerId: () => 'acme', ...options }));
    app.get('/ok', (_req, res) => void res.json({ served: true }));
    const running = await listen(app);
    try {
      const res = await fetch(`${running.url}/ok`);
      const body = await res.text();
      await running.waitForDone(1);
      await recorded.meter.flush();
      return { ...recorded, status: res.status, body, stats: recorded.meter.stats() };
    } finally {
      await running.close();
    }
  }

  const thrower = () => {
    throw new TypeError('resolver bug');
  };
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  const deep = (levels: number): Record<string, unknown> => {
    let value: Record<string, unknown> = {};
    for (let i = 1; i < levels; i++) value = { a: value };
    return value;
  };
  // A resolver's Promise must be handled by the middleware, never left to reject unhandled.
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));
  afterEach(() => expect(unhandled).toEqual([]));

  it.each([
    ['customerId throws', { customerId: thrower }, 'customerId', /customerId resolver threw: resolver bug/],
    ['customerId returns nothing', { customerId: () => undefined }, 'customerId', /got undefined/],
    ['customerId with spaces', { customerId: () => 'has spaces' }, 'customerId', /characters/],
    ['customerId throws a string', { customerId: () => { throw 'acme'; } }, 'customerId', /customerId resolver threw: acme/],
    ['delta throws', { delta: thrower }, 'delta', /delta resolver threw: resolver bug/],
    ['delta is NaN', { delta: () => Number.NaN }, 'delta', /NaN/],
    ['delta is Infinity', { delta: () => Number.POSITIVE_INFINITY }, 'delta', /Infinity/],
    ['delta out of range', { delta: () => 5e9 }, 'delta', /1e9/],
    ['reason throws', { reason: thrower }, 'reason', /reason resolver threw: resolver bug/],
    ['reason of 600 characters', { reason: () => 'r'.repeat(600) }, 'reason', /500/],
    ['metadata throws', { metadata: thrower }, 'metadata', /metadata resolver threw: resolver bug/],
    ['metadata is a string', { metadata: () => 'plan=pro' as never }, 'metadata', /plain object/],
    ['metadata cannot be serialized', { metadata: () => ({ cycle }) }, 'metadata', /JSON/],
    ['metadata nested 3,000 levels deep', { metadata: () => deep(3_000) }, 'metadata', /more than 32 levels deep/],
    ['customerId returns a rejected Promise', { customerId: () => Promise.reject(new Error('lookup failed')) }, 'customerId', /customerId resolver returned a Promise/],
    ['customerId is an unsafe integer', { customerId: () => 2 ** 53 }, 'customerId', /got 9007199254740992/],
    ['delta returns a Promise', { delta: async () => -1 }, 'delta', /delta resolver returned a Promise/],
    ['reason returns a thenable', { reason: () => ({ then: () => undefined }) }, 'reason', /reason resolver returned a Promise/],
    ['metadata returns a rejected Promise', { metadata: () => Promise.reject(new Error('no plan')) }, 'metadata', /metadata resolver returned a Promise/],
    ['requestId throws', { requestId: thrower }, 'requestId', /requestId resolver threw: resolver bug/],
    ['requestId returns a rejected Promise', { requestId: () => Promise.reject(new Error('no id')) }, 'requestId', /requestId resolver returned a Promise/],
  ])('%s: response unchanged, delta refused and counted', async (_name, options, field, message) => {
    const { status, body, sent, stats, drops, errors } = await serve(options as never);
    expect(status).toBe(200);
    expect(body).toBe('{"served":true}');
    expect(sent).toHaveLength(0);
    expect(stats.accepted).toBe(0);
    expect(stats.dropped.invalid).toBe(1);
    expect(drops).toEqual([expect.objectContaining({ reason: 'invalid' })]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DeltaValidationError);
    expect((errors[0] as DeltaValidationError).field).toBe(field);
    expect(errors[0]!.message).toMatch(message);
  });

  // Issue 21: nothing to bill is not a loss: a zero delta (or NOTHING_TO_BILL) is skipped, never dropped.
  it.each([
    ['delta is zero', { delta: () => 0 }, 'zero_delta'],
    ['delta is NOTHING_TO_BILL', { delta: () => NOTHING_TO_BILL }, 'nothing_to_bill'],
    ['customerId is NOTHING_TO_BILL', { customerId: () => NOTHING_TO_BILL }, 'nothing_to_bill'],
  ])('%s: response unchanged, nothing billed, counted as skipped, not dropped', async (_name, options, cause) => {
    const { status, sent, stats, drops, errors } = await serve(options as never);
    expect(status).toBe(200);
    expect(sent).toHaveLength(0);
    expect(stats.dropped).toEqual({});
    expect(stats.skipped).toEqual({ [cause]: 1 });
    expect(drops).toEqual([]);
    expect(errors).toEqual([]);
  });

  it.each([
    ['isSuccess throws', { isSuccess: thrower }, 'isSuccess'],
    ['skip throws', { skip: thrower }, 'skip'],
    ['isSuccess returns a Promise', { isSuccess: async () => true }, 'isSuccess'],
    ['skip returns a rejected Promise', { skip: () => Promise.reject(new Error('flag service down')) }, 'skip'],
  ])('%s: response unchanged, not billed, refused as invalid input and counted', async (_name, options, option) => {
    const { status, body, sent, stats, errors } = await serve(options as never);
    expect(status).toBe(200);
    expect(body).toBe('{"served":true}');
    expect(sent).toHaveLength(0);
    expect(stats.dropped.invalid).toBe(1);
    expect((errors[0] as DeltaValidationError).field).toBe(option);
    expect(errors[0]!.message).toMatch(/threw: resolver bug|returned a Promise/);
  });

  it('bills a safe-integer customerId as its decimal string, as the Nest module does', async () => {
    const { sent, stats } = await serve({ customerId: () => 12345 });
    expect(stats.dropped).toEqual({});
    expect(sent).toEqual([expect.objectContaining({ customerId: '12345', referenceId: expect.stringMatching(/^test:api_request:12345:/) })]);
  });

  it('a throwing onDrop/onError hook changes nothing either', async () => {
    const recorded = recordingMeter({ onDrop: thrower, onError: thrower });
    const app = express();
    app.use(meterRequests(recorded.meter, { customerId: thrower }));
    app.get('/ok', (_req, res) => void res.send('fine'));
    const running = await listen(app);
    try {
      const res = await fetch(`${running.url}/ok`);
      expect(await res.text()).toBe('fine');
      await running.waitForDone(1);
      expect(recorded.meter.stats().dropped.invalid).toBe(1);
    } finally {
      await running.close();
    }
  });
});
