// Issue 24, "Must show": the mixed-traffic suite (test/support/mixed-traffic.ts) through the Hono
// middleware and through the plain fetch wrapper, each served by @hono/node-server over a real
// socket: one delta per 2xx under API faults, none for 4xx, throws, rejections and aborts.
import { getRequestListener } from '@hono/node-server';
import { meterFetch, meterRequests } from '@pacspace-metering/hono';
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { describeMixedTraffic } from './support/mixed-traffic.js';

const units = (request: Request) => -Number(new URL(request.url).searchParams.get('units'));

/** The suite's five routes, as a Hono app (errors answered 500 without a log line per throw). */
function reportsApp(): Hono {
  const reports = new Hono();
  reports.get('/:id', (c) => c.json({ id: c.req.param('id') }));
  reports.get('/:id/invalid', (c) => c.json({ error: 'invalid' }, Number(c.req.query('status')) as ContentfulStatusCode));
  reports.get('/:id/throws', () => {
    throw new Error('handler bug');
  });
  reports.get('/:id/rejects', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    throw new Error('async handler bug');
  });
  // A first chunk, then nothing until the client has gone (the server cancels the body).
  reports.get('/:id/stream', () => new Response(new ReadableStream({ start: (controller) => controller.enqueue(new TextEncoder().encode('{"rows":[')) })));
  return reports;
}

const onError = (_err: Error, c: Context) => c.json({ error: 'internal' }, 500);

describeMixedTraffic('Hono (middleware, @hono/node-server)', {
  route: '/v1/reports/:id',
  build(meter) {
    const app = new Hono();
    app.onError(onError);
    app.use(meterRequests(meter, { customerId: (c) => c.req.header('x-customer'), delta: (c) => units(c.req.raw) }));
    app.route('/v1/reports', reportsApp());
    return getRequestListener(app.fetch);
  },
});

describeMixedTraffic('Fetch handler (meterFetch, @hono/node-server)', {
  route: undefined,
  build(meter) {
    const app = new Hono();
    app.onError(onError);
    app.route('/v1/reports', reportsApp());
    return getRequestListener(meterFetch(meter, app.fetch, { customerId: (request) => request.headers.get('x-customer'), delta: units }));
  },
});
