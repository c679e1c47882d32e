// A Hono app on @hono/node-server in ESM TypeScript (strict, exactOptionalPropertyTypes), metered
// the way @pacspace-metering/hono's README says.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { createMeter } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/hono';

type Env = { Variables: { accountId: string | undefined } };

/** Stands in for the app's own auth: the caller's account comes from a header. */
const authenticate = createMiddleware<Env>(async (c, next) => {
  c.set('accountId', c.req.header('x-account'));
  await next();
});

const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
await meter.verifyCredentials(); // a wrong key stops the start here, instead of every delta later
const app = new Hono<Env>();

app.use(authenticate);
app.use(meterRequests<Env>(meter, { customerId: (c) => c.get('accountId') }));
app.get('/reports/:id', (c) => (c.req.param('id') === 'missing' ? c.json({ error: 'no such report' }, 404) : c.json({ id: c.req.param('id') })));

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`);
});
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return; // a second signal must not cut the delivery of what is queued short
    stopping = true;
    server.close(async () => {
      const report = await meter.close({ timeoutMs: 10_000 }); // delivers what is queued, then reports
      if (report.pending > 0) console.error(`${report.pending} usage deltas not delivered`, report.pendingReferenceIds);
      process.exit(0);
    });
  });
}
