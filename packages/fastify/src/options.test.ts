import { MeteringConfigError } from '@pacspace-metering/core';
import { PLUGIN_OPTION_NAMES, fastifyMetering } from '@pacspace-metering/fastify';
import Fastify from 'fastify';
import { call, listenFastify, recordingMeter } from '../test-support/harness.js';

/** Registers the plugin with `options` and readies the app; resolves with the error Fastify reports, if any. */
async function registrationError(options: unknown): Promise<unknown> {
  const app = Fastify();
  app.register(fastifyMetering, options as never);
  try {
    await app.ready();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await app.close();
  }
}

describe('fastifyMetering: bad configuration', () => {
  const { meter } = recordingMeter();
  const acme = (): string => 'a';

  it.each<[string, unknown, string, RegExp]>([
    ['no options', undefined, 'meter', /is required: a Meter from createMeter/],
    ['no meter', { customerId: acme }, 'meter', /is required/],
    ['a meter without emit', { meter: { enqueue() {} }, customerId: acme }, 'meter', /with scope, enqueue and emit/],
    ['a customerId string', { meter, customerId: 'acme' }, 'customerId', /is required: a function \(request, reply\)/],
    ['delta 0', { meter, customerId: acme, delta: 0 }, 'delta', /non-zero number .*or a function/],
    ['an empty reason', { meter, customerId: acme, reason: '' }, 'reason', /non-empty string/],
    ['skip: true', { meter, customerId: acme, skip: true }, 'skip', /must be a function/],
    ["trustUpstreamId: 'yes'", { meter, customerId: acme, trustUpstreamId: 'yes' }, 'trustUpstreamId', /true or false/],
    ['a header name with spaces', { meter, customerId: acme, requestIdHeader: 'x request id' }, 'requestIdHeader', /HTTP header name/],
    ['a misspelt option', { meter, customerId: acme, reasons: 'typo' }, 'reasons', /is not an option; allowed: meter, customerId/],
  ])('refuses the registration with %s, naming %s', async (_label, options, option, message) => {
    const err = await registrationError(options);
    expect(err).toBeInstanceOf(MeteringConfigError);
    expect((err as MeteringConfigError).option).toBe(option);
    expect((err as Error).message).toMatch(message);
  });

  it('accepts every documented option, undefined meaning the default, and leaves the options object as it was', async () => {
    const options = {
      meter, customerId: () => 'a', delta: -2, reason: 'r', metadata: () => ({}), isSuccess: () => true, skip: () => false,
      requestId: () => undefined, trustUpstreamId: false, requestIdHeader: undefined, responseHeader: false, deltas: undefined,
    };
    const copy = { ...options };
    expect(Object.keys(options).sort()).toEqual([...PLUGIN_OPTION_NAMES].sort());
    expect(await registrationError(options)).toBeUndefined();
    expect(options).toEqual(copy);
  });

  it("fails a route's declaration when its config.metering cannot work, naming the field and the route", async () => {
    const app = Fastify();
    await app.register(fastifyMetering, { meter, customerId: () => 'a' });
    const declare = (metering: unknown) => () => app.get('/reports/:id', { config: { metering: metering as never } }, async () => 'x');
    expect(declare({ delta: Number.NaN })).toThrow(new MeteringConfigError('config.metering.delta', 'must be a finite, non-zero number between -1e9 and 1e9 (got NaN), or a function (request, reply) => number (route GET /reports/:id)'));
    expect(declare({ skip: () => true })).toThrow(/^config\.metering\.skip: is not an option; allowed: customerId, delta, reason, deltas, metadata, isSuccess \(route GET \/reports\/:id\)$/);
    expect(declare('api_request')).toThrow(/^config\.metering: must be an object of customerId, delta, reason, deltas, metadata, isSuccess, or false/);
    await app.close();
  });

  it('refuses, and reports, the deltas of a route declared before the plugin was loaded whose config cannot work; its answers are unchanged', async () => {
    const recorded = recordingMeter();
    const app = Fastify();
    app.register(fastifyMetering, { meter: recorded.meter, customerId: () => 'a' }); // not awaited: the route below is declared first
    app.get('/odd', { config: { metering: { reason: 42 as never } } }, async () => 'still served');
    const running = await listenFastify(app);
    const answers = [await call(running, '/odd'), await call(running, '/odd')];
    await running.waitForDone(2);
    expect(answers.map((a) => [a.status, a.body])).toEqual([[200, 'still served'], [200, 'still served']]);
    expect(recorded.sent).toEqual([]);
    expect(recorded.drops.map((d) => [d.reason, d.error.message])).toEqual(Array(2).fill(['invalid', expect.stringMatching(/^config\.metering\.reason: must be a non-empty string .*\(route \/odd\)$/)]));
    expect(recorded.meter.stats().dropped).toEqual({ invalid: 2 });
    await running.close();
  });
});
