// Issue #3, "Must show": mixed traffic through a real Express app, billed into the sandbox through
// injected 5xx, connection resets and commit-then-drop (the suite: support/mixed-traffic.ts).
import { meterRequests } from '@pacspace-metering/express';
import express from 'express';
import { listen } from '../packages/express/test-support/harness.js';
import { describeMixedTraffic } from './support/mixed-traffic.js';

describeMixedTraffic('Express', 'express-e2e', (meter) => {
  const app = express();
  app.use(meterRequests(meter, { customerId: (req) => req.get('x-customer'), delta: (req) => -Number(req.query.units) }));
  const reports = express.Router();
  reports.get('/:id', (req, res) => void res.json({ id: req.params.id }));
  reports.get('/:id/invalid', (req, res) => void res.status(Number(req.query.status)).json({ error: 'invalid' }));
  reports.get('/:id/throws', () => {
    throw new Error('handler bug');
  });
  reports.get('/:id/rejects', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    throw new Error('async handler bug');
  });
  reports.get('/:id/stream', (_req, res) => {
    res.write('{"rows":[');
    // The client destroys the socket after this first chunk; only then does the handler end.
    res.once('close', () => res.end(']}'));
  });
  app.use('/v1/reports', reports);
  return listen(app);
});
