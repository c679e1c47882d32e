import { meterRequests } from '@pacspace-metering/hono';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { recordingMeter } from '../../express/test-support/harness.js';

/** Reads the whole body, as a server that sends it all does. */
const read = async (res: Response) => ({ status: res.status, body: await res.text(), id: res.headers.get('x-request-id') });

/** The id echo is off by default: turned on here, to find what was billed for each response. */
describe('meterRequests(): what is billed, in Hono', () => {
  const { meter, sent, drops } = recordingMeter();
  const app = new Hono<{ Variables: { accountId: string } }>();
  app.onError((_err, c) => c.json({ error: 'handled' }, 200)); // even an error answered 200 is not billed
  app.use(async (c, next) => {
    c.set('accountId', c.req.header('x-account') ?? 'acme');
    await next();
  });
  app.use(meterRequests(meter, { customerId: (c) => c.get('accountId'), responseHeader: 'x-request-id' }));
  const reports = new Hono();
  reports.get('/:id', (c) => c.json({ id: c.req.param('id') }));
  reports.get('/:id/gone', (c) => c.json({ error: 'gone' }, 410));
  reports.get('/:id/throws', () => {
    throw new Error('handler bug');
  });
  app.route('/v1/reports', reports);
  // A middleware (it takes next) that answers itself, as an auth or cache middleware may.
  app.use('/v1/answered-by-middleware/*', async (c, _next) => c.text('a middleware answered'));

  beforeEach(() => {
    sent.length = 0;
  });

  it('bills a success once, with the route pattern (app.route prefix included) and the method, under the echoed id', async () => {
    const { status, id } = await read(await app.request('/v1/reports/42', { headers: { 'x-account': 'acct-1' } }));
    await meter.flush();
    expect(status).toBe(200);
    expect(sent).toEqual([{ customerId: 'acct-1', delta: -1, reason: 'api_request', referenceId: `test:api_request:acct-1:${id}`, metadata: { route: '/v1/reports/:id', method: 'GET' } }]);
  });

  it('bills nothing for a 4xx, a 404, or a handler that threw (even when onError answers 200)', async () => {
    for (const path of ['/v1/reports/42/gone', '/nowhere', '/v1/reports/42/throws']) await read(await app.request(path));
    await meter.flush();
    expect(sent).toEqual([]);
    expect(drops).toEqual([]);
  });

  it('bills a success a middleware answered without a route pattern (never the raw URL)', async () => {
    await read(await app.request('/v1/answered-by-middleware/7'));
    await meter.flush();
    expect(sent.map((d) => d.metadata)).toEqual([{ method: 'GET' }]);
  });
});

describe('meterRequests(): request ids and claims', () => {
  it('trusts a request-id header only when named, bound to the call; trusts hono/request-id only when asked', async () => {
    // hono/request-id writes X-Request-Id itself (after ours, being outside): the ids are read from what was billed.
    const { meter, sent } = recordingMeter();
    const app = new Hono();
    app.use(requestId());
    app.get('/header', meterRequests(meter, { customerId: () => 'acme', requestIdHeader: 'x-request-id' }), (c) => c.text('ok'));
    app.get('/upstream', meterRequests(meter, { customerId: () => 'acme', trustUpstreamId: true }), (c) => c.text('ok'));
    app.get('/default', meterRequests(meter, { customerId: () => 'acme' }), (c) => c.text('ok'));
    const headers = { 'x-request-id': 'gateway-id-1' };
    for (const path of ['/header', '/header', '/upstream', '/default']) await read(await app.request(path, { headers }));
    await meter.flush();
    const billed = sent.map((d) => d.referenceId.split(':').pop()!);
    // The same call twice: one id (PacSpace deduplicates it); another URL: another id; the default: a UUID.
    expect(billed[0]).toMatch(/^gateway-id-1\.[0-9a-f]{16}$/);
    expect(billed[1]).toBe(billed[0]);
    expect(billed[2]).toMatch(/^gateway-id-1\.[0-9a-f]{16}$/);
    expect(billed[2]).not.toBe(billed[0]);
    expect(billed[3]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('does not echo the id by default, nor replace an x-request-id the app set; naming a header echoes the billed id', async () => {
    const { meter, sent } = recordingMeter();
    const app = new Hono();
    app.get('/default', meterRequests(meter, { customerId: () => 'acme' }), (c) => c.text('ok'));
    app.get('/own-id', meterRequests(meter, { customerId: () => 'acme', reason: 'own' }), (c) => {
      c.header('x-request-id', 'set-by-the-app');
      return c.text('ok');
    });
    app.get('/named', meterRequests(meter, { customerId: () => 'acme', reason: 'named', responseHeader: 'x-request-id' }), (c) => c.text('ok'));
    const [byDefault, own, named] = [await read(await app.request('/default')), await read(await app.request('/own-id')), await read(await app.request('/named'))];
    await meter.flush();
    expect([byDefault.id, own.id]).toEqual([null, 'set-by-the-app']);
    expect(named.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.map((d) => d.referenceId)).toEqual([
      expect.stringMatching(/^test:api_request:acme:[0-9a-f-]{36}$/),
      expect.stringMatching(/^test:own:acme:[0-9a-f-]{36}$/),
      `test:named:acme:${named.id}`,
    ]);
  });

  it('bills a request passing two middlewares with the same reason once, with two reasons twice', async () => {
    const { meter, sent } = recordingMeter();
    const app = new Hono();
    app.use(meterRequests(meter, { customerId: () => 'acme' }));
    app.use(meterRequests(meter, { customerId: () => 'acme' }));
    app.use('/export', meterRequests(meter, { customerId: () => 'acme', reason: 'export', delta: -10 }));
    app.get('/report', (c) => c.text('ok'));
    app.get('/export', (c) => c.text('ok'));
    await read(await app.request('/report'));
    await read(await app.request('/export'));
    await meter.flush();
    expect(sent.map((d) => `${d.reason} ${d.delta}`).sort()).toEqual(['api_request -1', 'api_request -1', 'export -10']);
  });

  it('refuses the delta, never the response, when a resolver throws, returns a Promise, or the requestId resolver fails', async () => {
    const { meter, sent, drops, errors } = recordingMeter();
    const app = new Hono();
    app.get('/customer-throws', meterRequests(meter, { customerId: () => { throw new Error('no user'); } }), (c) => c.text('ok'));
    app.get('/async-customer', meterRequests(meter, { customerId: (async () => 'acme') as never }), (c) => c.text('ok'));
    app.get('/id-throws', meterRequests(meter, { customerId: () => 'acme', requestId: () => { throw new Error('no id'); } }), (c) => c.text('ok'));
    app.get('/skip-throws', meterRequests(meter, { customerId: () => 'acme', skip: () => { throw new Error('no skip'); } }), (c) => c.text('ok'));
    for (const path of ['/customer-throws', '/async-customer', '/id-throws', '/skip-throws']) expect((await read(await app.request(path))).status).toBe(200);
    await meter.flush();
    expect(sent).toEqual([]);
    expect(drops.map((d) => d.reason)).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
    expect(errors.map((e) => [(e as { field?: string }).field, e.message])).toEqual([
      ['customerId', 'customerId: the customerId resolver threw: no user'],
      ['customerId', expect.stringMatching(/^customerId: the customerId resolver returned a Promise/)],
      ['requestId', 'requestId: the requestId resolver threw: no id'],
      ['skip', 'skip: the skip resolver threw: no skip'],
    ]);
    expect(meter.stats().dropped).toEqual({ invalid: 4 });
  });
});
