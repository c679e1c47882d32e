// The mixed-traffic suite (test/support/mixed-traffic.ts) through the Express middleware.
import { meterRequests } from '@pacspace-metering/express';
import express from 'express';
import { describeMixedTraffic, inProcess } from './support/mixed-traffic.js';

describeMixedTraffic('Express', {
  route: '/v1/reports/:id',
  start: inProcess((meter) => {
    const app = express();
    app.use(meterRequests(meter, { customerId: (req) => req.get('x-customer'), delta: (req) => -Number(req.query.units), responseHeader: 'x-request-id' }));
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
    return app;
  }),
});
