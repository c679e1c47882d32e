import { PROCESS_INSTANCE_ID } from '@pacspace-metering/core';
import { fastifyMetering, type FastifyMeteringOptions } from '@pacspace-metering/fastify';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { createHash } from 'node:crypto';
import { call, listenFastify, recordingMeter } from '../test-support/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const callHash = (method: string, url: string) => createHash('sha256').update(`${method} ${url}`).digest('hex').slice(0, 16);

/**
 * One app per case: Fastify's own server options (how it sets request.id) and the plugin's request-id
 * options, with the id echoed in x-request-id (off by default, turned on here) to compare with what was billed.
 */
async function billedIds(server: FastifyServerOptions, options: Partial<FastifyMeteringOptions>, calls: Array<Record<string, string>>) {
  const { meter, sent, drops } = recordingMeter();
  const app = Fastify(server);
  await app.register(fastifyMetering, { meter, customerId: () => 'acme', responseHeader: 'x-request-id', ...options });
  app.get('/v1/reports/:id', async () => 'report');
  const running = await listenFastify(app);
  const echoed: Array<string | null> = [];
  for (const headers of calls) echoed.push((await call(running, '/v1/reports/7', { headers })).requestId);
  await running.waitForDone(calls.length);
  await meter.flush();
  await running.close();
  return { echoed, billed: sent.map((d) => d.referenceId.split(':').pop()), drops };
}

describe("fastifyMetering: request ids (Fastify's request.id is not trusted by default)", () => {
  it('bills under a fresh UUID by default, ignoring request.id even when Fastify took it from the client', async () => {
    const { echoed, billed } = await billedIds({ requestIdHeader: 'x-request-id' }, {}, [{ 'x-request-id': 'same' }, { 'x-request-id': 'same' }]);
    expect(echoed.every((id) => UUID.test(id!))).toBe(true);
    expect(billed).toEqual(echoed);
    expect(new Set(billed).size).toBe(2); // a repeated client id cannot merge two calls
  });

  it("with trustUpstreamId, bills under Fastify's counter id qualified by this registration and bound to the call", async () => {
    const { echoed, billed } = await billedIds({}, { trustUpstreamId: true }, [{}, {}]);
    expect(billed).toEqual(echoed);
    const [first, second] = billed as [string, string];
    // req-1 / req-2 (Fastify's counter), after a random 12-hex id of the registration, never the process's.
    expect(first).toMatch(new RegExp(`^[0-9a-f]{12}-req-1\\.${callHash('GET', '/v1/reports/7')}$`));
    expect(second.slice(0, 12)).toBe(first.slice(0, 12));
    expect(first.startsWith(PROCESS_INSTANCE_ID)).toBe(false);
  });

  it('with trustUpstreamId and an id Fastify took from a header, bills under it, bound to the call', async () => {
    const { billed } = await billedIds({ requestIdHeader: 'x-trace' }, { trustUpstreamId: true }, [{ 'x-trace': 'gw-42' }, { 'x-trace': 'gw-42' }]);
    expect(billed).toEqual([`gw-42.${callHash('GET', '/v1/reports/7')}`, `gw-42.${callHash('GET', '/v1/reports/7')}`]);
  });

  it('trusts the header named by requestIdHeader, and prefers the requestId option over everything', async () => {
    const header = await billedIds({}, { requestIdHeader: 'X-Gateway-Id' }, [{ 'x-gateway-id': 'gw-7' }, {}]);
    expect(header.billed[0]).toBe(`gw-7.${callHash('GET', '/v1/reports/7')}`);
    expect(header.billed[1]).toMatch(UUID);
    const own = await billedIds({}, { requestId: (request) => String(request.headers['x-own']), requestIdHeader: 'x-gateway-id', trustUpstreamId: true }, [{ 'x-own': 'mine-1', 'x-gateway-id': 'gw-7' }]);
    expect(own.billed).toEqual(['mine-1']);
  });

  it('refuses (never bills under a random id) a call whose requestId resolver throws, and still answers it', async () => {
    const { echoed, billed, drops } = await billedIds({}, { requestId: () => { throw new Error('no idempotency key'); } }, [{}]);
    expect(echoed[0]).toMatch(UUID);
    expect(billed).toEqual([]);
    expect(drops.map((d) => [d.reason, d.error.message])).toEqual([['invalid', 'requestId: the requestId resolver threw: no idempotency key']]);
  });
});
