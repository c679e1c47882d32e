'use strict';
// An Express 4 app in CommonJS JavaScript, metered the way @pacspace-metering/express's quick start
// says. PACSPACE_API_KEY and PACSPACE_BASE_URL come from the environment (the sandbox here).
const express = require('express');
const { createMeter } = require('@pacspace-metering/core');
const { meterRequests } = require('@pacspace-metering/express');

/** Stands in for the app's own auth: the caller's account comes from a header. */
function authenticate(req, _res, next) {
  const account = req.get('x-account');
  if (account) req.user = { accountId: account };
  next();
}

async function main() {
  const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
  await meter.verifyCredentials(); // a wrong key stops the start here, instead of every delta later
  const app = express();

  app.use(authenticate);
  app.use(meterRequests(meter, { customerId: (req) => req.user && req.user.accountId }));
  app.get('/reports/:id', (req, res) => {
    if (req.params.id === 'missing') return res.status(404).json({ error: 'no such report' });
    res.json({ id: req.params.id });
  });

  const server = app.listen(Number(process.env.PORT || 3000), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}`);
  });
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      server.close(async () => {
        const report = await meter.close({ timeoutMs: 10000 });
        // `pending` counts deltas (each one a full queue summed, too); a durable store keeps them for the next start.
        if (report.pending > 0) console.error(`${report.pending} usage deltas not delivered${meter.durable ? ' (kept in the store)' : ''}`, report.pendingReferenceIds);
        process.exit(0);
      });
    });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
