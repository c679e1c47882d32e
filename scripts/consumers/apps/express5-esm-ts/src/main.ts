// An Express 5 app in ESM TypeScript (strict, exactOptionalPropertyTypes), metered the way
// @pacspace-metering/express's quick start says.
import express, { type RequestHandler } from 'express';
import { createMeter } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';

/** Stands in for the app's own auth: the caller's account comes from a header. */
const authenticate: RequestHandler = (req, _res, next) => {
  const account = req.get('x-account');
  if (account) req.user = { accountId: account };
  next();
};

const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
await meter.verifyCredentials(); // a wrong key stops the start here, instead of every delta later
const app = express();

app.use(authenticate);
app.use(meterRequests(meter, { customerId: (req) => req.user?.accountId }));
app.get('/reports/:id', (req, res) => {
  if (req.params.id === 'missing') {
    res.status(404).json({ error: 'no such report' });
    return;
  }
  res.json({ id: req.params.id });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : address}`);
});
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return; // a second signal must not cut the delivery of what is queued short
    stopping = true;
    server.close(async () => {
      const report = await meter.close({ timeoutMs: 10_000 }); // delivers what is queued, then reports
      // `pending` counts deltas (each one a full queue summed, too); a durable store keeps them for the next start.
      if (report.pending > 0) console.error(`${report.pending} usage deltas not delivered${meter.durable ? ' (kept in the store)' : ''}`, report.pendingReferenceIds);
      process.exit(0);
    });
  });
}
