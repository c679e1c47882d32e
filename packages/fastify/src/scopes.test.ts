import { fastifyMetering, meterNow } from '@pacspace-metering/fastify';
import Fastify from 'fastify';
import { call, listenFastify, recordingMeter } from '../test-support/harness.js';

// Fastify's encapsulation: the plugin meters the scope it is registered in and that scope's
// children, never a sibling; a request two registrations (or a registration and meterNow) see is
// billed once per reason.
/** The id echo is off by default: turned on where a test reads the id a call was billed under. */
const ECHO = { responseHeader: 'x-request-id' } as const;

describe('fastifyMetering: scopes and once per request', () => {
  it('registered inside a prefixed plugin, meters that plugin only; at the root, every route, whenever declared', async () => {
    const { meter, sent } = recordingMeter();
    const app = Fastify();
    app.get('/declared-before', async () => 'root');
    app.register(async (paid) => {
      paid.register(fastifyMetering, { meter, customerId: () => 'acme', reason: 'paid_call' });
      paid.get('/report', async () => 'paid');
      paid.register(async (nested) => void nested.get('/nested', async () => 'nested'), { prefix: '/deeper' });
    }, { prefix: '/paid' });
    app.register(async (free) => void free.get('/report', async () => 'free'), { prefix: '/free' });
    const running = await listenFastify(app);
    for (const path of ['/declared-before', '/paid/report', '/paid/deeper/nested', '/free/report']) expect((await call(running, path)).status).toBe(200);
    await running.waitForDone(4);
    await meter.flush();
    expect(sent.map((d) => d.metadata?.route).sort()).toEqual(['/paid/deeper/nested', '/paid/report']);
    await running.close();

    const root = recordingMeter();
    const whole = Fastify();
    whole.get('/declared-before', async () => 'root');
    whole.register(fastifyMetering, { meter: root.meter, customerId: () => 'acme' }); // not awaited
    whole.get('/declared-after', async () => 'root');
    whole.register(async (child) => void child.get('/child', async () => 'child'), { prefix: '/c' });
    const all = await listenFastify(whole);
    for (const path of ['/declared-before', '/declared-after', '/c/child']) await call(all, path);
    await all.waitForDone(3);
    await root.meter.flush();
    expect(root.sent.map((d) => d.metadata?.route).sort()).toEqual(['/c/child', '/declared-after', '/declared-before']);
    await all.close();
  });

  it('bills once when a parent and a child registration with the same reason see a request, once per reason when they differ, under one request id', async () => {
    const { meter, sent } = recordingMeter();
    const app = Fastify();
    await app.register(fastifyMetering, { meter, customerId: () => 'acme', ...ECHO });
    app.register(async (same) => {
      await same.register(fastifyMetering, { meter, customerId: () => 'acme', ...ECHO });
      same.get('/same', async () => 'x');
    });
    app.register(async (other) => {
      await other.register(fastifyMetering, { meter, customerId: () => 'acme', reason: 'export', delta: -10, requestId: () => 'ignored-own-id', ...ECHO });
      other.get('/other', async () => 'x');
    });
    const running = await listenFastify(app);
    const same = await call(running, '/same');
    const other = await call(running, '/other');
    await running.waitForDone(2);
    await meter.flush();
    expect(sent.map((d) => d.referenceId).sort()).toEqual(
      [`test:api_request:acme:${same.requestId}`, `test:api_request:acme:${other.requestId}`, `test:export:acme:${other.requestId}`].sort(),
    );
    await running.close();
  });

  it('does not bill again what meterNow() already confirmed with the same reason and customer', async () => {
    const { meter, sent } = recordingMeter();
    const app = Fastify();
    await app.register(fastifyMetering, { meter, customerId: () => 'acme', reason: 'export', ...ECHO });
    app.post('/exports', async (request) => {
      const receipt = await meterNow(meter, request, { customerId: 'acme', reason: 'export', delta: -10 });
      return { referenceId: receipt.referenceId };
    });
    const running = await listenFastify(app);
    const answer = await call(running, '/exports', { method: 'POST' });
    await running.waitForDone(1);
    await meter.flush();
    expect(JSON.parse(answer.body)).toEqual({ referenceId: `test:export:acme:${answer.requestId}` });
    expect(sent).toEqual([{ customerId: 'acme', delta: -10, reason: 'export', referenceId: `test:export:acme:${answer.requestId}`, metadata: { route: '/exports', method: 'POST' } }]);
    await running.close();
  });
});
