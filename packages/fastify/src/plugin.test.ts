import type { Meter } from '@pacspace-metering/core';
import { fastifyMetering, getRequestId } from '@pacspace-metering/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { abortMidResponse, call, listenFastify, recordingMeter, type RunningApp } from '../test-support/harness.js';

/**
 * Every kind of ending, metered app-wide; each test looks at what the meter sent. The id echo is
 * off by default: turned on here, to find what was billed for each response.
 */
describe('fastifyMetering: what is billed', () => {
  let running: RunningApp;
  const { meter, sent, drops } = recordingMeter();
  const seenIds: Array<string | undefined> = [];

  beforeAll(async () => {
    const app = Fastify();
    await app.register(fastifyMetering, { meter, customerId: (request) => (request.headers['x-customer'] as string | undefined) ?? 'acme', responseHeader: 'x-request-id' });
    app.get('/ok', async (request) => {
      seenIds.push(getRequestId(request));
      return { ok: true };
    });
    app.post('/created', async (_request, reply) => reply.code(201).send());
    app.get('/redirect', async (_request, reply) => reply.redirect('/ok'));
    app.get('/not-found', async (_request, reply) => reply.code(404).send({ error: 'nope' }));
    app.get('/server-error', async (_request, reply) => reply.code(503).send());
    app.get('/throws', () => {
      throw new Error('boom');
    });
    app.get('/rejects', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('rejected');
    });
    app.get('/invalid', { schema: { querystring: { type: 'object', required: ['q'], properties: { q: { type: 'string' } } } } }, async () => 'valid');
    app.get('/aborted', (_request, reply) => {
      const body = new Readable({ read() {} });
      body.push('first chunk');
      reply.raw.once('close', () => body.push(null));
      return reply.send(body);
    });
    // An error handler that answers 200 makes a failure a success: the status sent decides.
    app.register(async (scope) => {
      scope.setErrorHandler(async (error: Error, _request, reply) => reply.code(200).send({ recovered: error.message }));
      scope.get('/handled', async () => {
        throw new Error('recovered');
      });
    });
    app.get('/items/:id', { config: { metering: { reason: 'item_read', delta: -3, customerId: () => 'item-buyer' } } }, async () => 'item');
    app.get('/health', { config: { metering: false } }, async () => 'ok');
    running = await listenFastify(app);
  });
  afterAll(() => running.close());

  /** Calls `path`, waits until the server is done with it, and returns what the meter sent for it. */
  async function billedFor(path: string, init?: RequestInit) {
    const before = sent.length;
    const done = running.done();
    const answer = await call(running, path, init);
    await running.waitForDone(done + 1);
    await meter.flush();
    return { ...answer, billed: sent.slice(before) };
  }

  it('bills a 200 once, under the echoed request id, with the route pattern and method', async () => {
    const { status, requestId, billed } = await billedFor('/ok');
    expect(status).toBe(200);
    expect(billed).toEqual([{ customerId: 'acme', delta: -1, reason: 'api_request', referenceId: `test:api_request:acme:${requestId}`, metadata: { route: '/ok', method: 'GET' } }]);
    expect(seenIds.at(-1)).toBe(requestId);
  });

  it.each([
    ['POST', '/created', 201, 1],
    ['GET', '/redirect', 302, 1],
    ['GET', '/not-found', 404, 0],
    ['GET', '/server-error', 503, 0],
    ['GET', '/throws', 500, 0],
    ['GET', '/rejects', 500, 0],
    ['GET', '/invalid', 400, 0],
    ['GET', '/handled', 200, 1],
  ])('%s %s (status %i) is billed %i time(s)', async (method, path, status, times) => {
    const answer = await billedFor(path, { method, redirect: 'manual' });
    expect(answer.status).toBe(status);
    expect(answer.billed).toHaveLength(times);
  });

  it('does not bill a response the client aborted mid-body', async () => {
    const before = sent.length;
    const done = running.done();
    const headers = await abortMidResponse(`${running.url}/aborted`);
    expect(typeof headers['x-request-id']).toBe('string');
    await running.waitForDone(done + 1);
    await meter.flush();
    expect(sent.length).toBe(before);
  });

  it("takes a route's own config (reason, delta, customerId) over the plugin's, with its pattern, never the raw URL", async () => {
    const { requestId, billed } = await billedFor('/items/42?utm=x');
    expect(billed).toEqual([{ customerId: 'item-buyer', delta: -3, reason: 'item_read', referenceId: `test:item_read:item-buyer:${requestId}`, metadata: { route: '/items/:id', method: 'GET' } }]);
  });

  it('leaves a route with config.metering false alone: no bill, no echo header', async () => {
    const { status, requestId, billed } = await billedFor('/health');
    expect([status, requestId, billed]).toEqual([200, null, []]);
    expect(drops).toEqual([]);
  });
});

describe('fastifyMetering: options', () => {
  /** Serves /v1/reports/:id metered with `options`, the id echoed in x-request-id (off by default) unless they say otherwise. */
  async function start(meter: Meter, options: Record<string, unknown>, routes: (app: FastifyInstance) => void = () => undefined) {
    return startAsConfigured(meter, { responseHeader: 'x-request-id', ...options }, routes);
  }

  /** start() with the options exactly as given: nothing turned on. */
  async function startAsConfigured(meter: Meter, options: Record<string, unknown>, routes: (app: FastifyInstance) => void = () => undefined) {
    const app = Fastify();
    await app.register(fastifyMetering, { meter, customerId: () => 'acme', ...options });
    app.get('/v1/reports/:id', async () => 'report');
    routes(app);
    return listenFastify(app);
  }

  it('uses delta, reason and metadata functions of the finished request and reply; metadata merges over route and method', async () => {
    const { meter, sent } = recordingMeter();
    const running = await start(meter, {
      delta: (_request: unknown, reply: { statusCode: number }) => -reply.statusCode,
      reason: (request: { method: string }) => `read_${request.method.toLowerCase()}`,
      metadata: (request: { params: { id: string } }) => ({ report: request.params.id, method: 'overridden' }),
    });
    const { requestId } = await call(running, '/v1/reports/7');
    await running.waitForDone(1);
    await meter.flush();
    expect(sent).toEqual([{ customerId: 'acme', delta: -200, reason: 'read_get', referenceId: `test:read_get:acme:${requestId}`, metadata: { route: '/v1/reports/:id', method: 'overridden', report: '7' } }]);
    await running.close();
  });

  it('uses isSuccess instead of status < 400, and skips what skip() selects (no echo header on it, the echo being on)', async () => {
    const { meter, sent } = recordingMeter();
    const running = await start(
      meter,
      { isSuccess: (_request: unknown, reply: { statusCode: number }) => reply.statusCode === 404, skip: (request: { url: string }) => request.url.endsWith('/skipped') },
      (app) => app.get('/gone', async (_request, reply) => reply.code(404).send()),
    );
    const answers = [await call(running, '/v1/reports/1'), await call(running, '/gone'), await call(running, '/v1/reports/skipped')];
    await running.waitForDone(3);
    await meter.flush();
    expect(sent.map((d) => d.metadata?.route)).toEqual(['/gone']);
    expect(answers.map((a) => a.requestId === null)).toEqual([false, false, true]);
    await running.close();
  });

  it('never changes the response when a resolver (or skip, or isSuccess) throws or returns a Promise: the delta is refused naming the option', async () => {
    const { meter, sent, drops } = recordingMeter();
    const running = await start(meter, {}, (app) => {
      app.get('/throws', { config: { metering: { customerId: () => { throw new Error('no user'); } } } }, async () => 'fine');
      app.get('/async', { config: { metering: { delta: (async () => -1) as unknown as () => number } } }, async () => 'fine');
    });
    const answers = [await call(running, '/throws'), await call(running, '/async')];
    await running.waitForDone(2);
    expect(answers.map((a) => [a.status, a.body])).toEqual([[200, 'fine'], [200, 'fine']]);
    expect(sent).toEqual([]);
    expect(drops.map((d) => [d.reason, (d.error as { field?: string }).field])).toEqual([['invalid', 'customerId'], ['invalid', 'delta']]);
    expect(drops[0]!.error.message).toBe('customerId: the customerId resolver threw: no user');
    await running.close();

    // A skip that cannot answer leaves the request unmetered, reported; an isSuccess that throws bills nothing, reported.
    const broken = recordingMeter();
    const skipping = await start(broken.meter, { skip: () => { throw new Error('no skip'); } });
    const judging = await start(broken.meter, { isSuccess: () => { throw new Error('no verdict'); } });
    const served = [await call(skipping, '/v1/reports/1'), await call(judging, '/v1/reports/1')];
    await Promise.all([skipping.waitForDone(1), judging.waitForDone(1)]);
    expect(served.map((a) => a.status)).toEqual([200, 200]);
    expect(broken.sent).toEqual([]);
    expect(broken.drops.map((d) => (d.error as { field?: string }).field)).toEqual(['skip', 'isSuccess']);
    await Promise.all([skipping.close(), judging.close()]);
  });

  it('does not echo the id by default; naming a header echoes the id the call is billed under', async () => {
    const { meter, sent } = recordingMeter();
    const byDefault = await startAsConfigured(meter, {});
    const plain = await call(byDefault, '/v1/reports/1');
    await byDefault.waitForDone(1);
    await meter.flush();
    expect([plain.status, plain.requestId]).toEqual([200, null]);
    expect(sent.map((d) => d.referenceId)).toEqual([expect.stringMatching(/^test:api_request:acme:[0-9a-f-]{36}$/)]);
    await byDefault.close();

    const named = recordingMeter();
    const echoing = await startAsConfigured(named.meter, { responseHeader: 'x-request-id' });
    const echoed = await call(echoing, '/v1/reports/1');
    await echoing.waitForDone(1);
    await named.meter.flush();
    expect(echoed.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(named.sent.map((d) => d.referenceId)).toEqual([`test:api_request:acme:${echoed.requestId}`]);
    await echoing.close();
  });

  it('echoes under another header name, or not at all', async () => {
    const { meter } = recordingMeter();
    const other = await start(meter, { responseHeader: 'x-billing-id' });
    const res = await fetch(`${other.url}/v1/reports/1`);
    expect([res.headers.get('x-billing-id')?.length, res.headers.get('x-request-id')]).toEqual([36, null]);
    await other.close();
    const none = await start(meter, { responseHeader: false });
    expect((await call(none, '/v1/reports/1')).requestId).toBeNull();
    await none.close();
  });
});
