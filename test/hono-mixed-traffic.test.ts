// Issue 24, "Must show": the mixed-traffic suite (test/support/mixed-traffic.ts) through the Hono
// middleware and through the plain fetch wrapper, each served by @hono/node-server over a real
// socket: one delta per 2xx under API faults, none for 4xx, throws, rejections and aborts. The app
// is the one test/hono-runtimes.test.ts runs on Bun, Deno and workerd.
import { getRequestListener } from '@hono/node-server';
import { meterFetch } from '@pacspace-metering/hono';
import { meteredApp, quietApp, reportsApp, units } from './fixtures/fetch-runtimes/app.mjs';
import { describeMixedTraffic, inProcess } from './support/mixed-traffic.js';

describeMixedTraffic('Hono (middleware, @hono/node-server)', {
  route: '/v1/reports/:id',
  start: inProcess((meter) => getRequestListener(meteredApp(meter).fetch)),
});

describeMixedTraffic('Fetch handler (meterFetch, @hono/node-server)', {
  route: undefined,
  start: inProcess((meter) => {
    const app = quietApp();
    app.route('/v1/reports', reportsApp());
    return getRequestListener(meterFetch(meter, app.fetch, { customerId: (request) => request.headers.get('x-customer'), delta: units, responseHeader: 'x-request-id' }));
  }),
});
