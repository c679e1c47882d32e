import { meterNow, meterRequests } from '@pacspace-metering/express';
import express from 'express';
import { listen, recordingMeter } from '../test-support/harness.js';

/** The id echo is off by default: each meter here turns it on, so the test can read the id the call was billed under. */
const ECHO = { responseHeader: 'x-request-id' } as const;

describe('once per request and reason', () => {
  async function run(build: (app: express.Express, meter: ReturnType<typeof recordingMeter>['meter']) => void, path = '/ok') {
    const recorded = recordingMeter();
    const app = express();
    build(app, recorded.meter);
    const running = await listen(app);
    try {
      const res = await fetch(running.url + path, { method: 'POST' });
      expect(res.status).toBe(200);
      await res.text();
      await running.waitForDone(1);
      await recorded.meter.flush();
      return { ...recorded, requestId: res.headers.get('x-request-id') };
    } finally {
      await running.close();
    }
  }

  it('bills once when two middlewares with the same reason see the request', async () => {
    const { sent, requestId } = await run((app, meter) => {
      app.use(meterRequests(meter, { customerId: () => 'acme', ...ECHO }));
      app.post('/ok', meterRequests(meter, { customerId: () => 'acme', ...ECHO }), (_req, res) => void res.send('ok'));
    });
    expect(sent.map((d) => d.referenceId)).toEqual([`test:api_request:acme:${requestId}`]);
  });

  it('bills once per reason when the reasons differ', async () => {
    const { sent, requestId } = await run((app, meter) => {
      app.use(meterRequests(meter, { customerId: () => 'acme', ...ECHO }));
      app.post('/ok', meterRequests(meter, { customerId: () => 'acme', reason: 'report_generated', delta: -5, ...ECHO }), (_req, res) => void res.send('ok'));
    });
    expect(sent.map((d) => [d.referenceId, d.delta]).sort()).toEqual([
      [`test:api_request:acme:${requestId}`, -1],
      [`test:report_generated:acme:${requestId}`, -5],
    ]);
  });

  it('bills once when the same middleware instance is mounted twice on the path', async () => {
    const { sent } = await run((app, meter) => {
      const metered = meterRequests(meter, { customerId: () => 'acme' });
      app.use(metered);
      app.use('/ok', metered);
      app.post('/ok', metered, (_req, res) => void res.send('ok'));
    });
    expect(sent).toHaveLength(1);
  });

  it('uses one request id for every meter on the request, whatever their own requestId option', async () => {
    const { sent, requestId } = await run((app, meter) => {
      app.use(meterRequests(meter, { customerId: () => 'acme', ...ECHO }));
      app.post('/ok', meterRequests(meter, { customerId: () => 'acme', requestId: () => 'other-id', reason: 'export', ...ECHO }), (_req, res) => void res.send('ok'));
    });
    expect(sent.map((d) => d.referenceId).sort()).toEqual([`test:api_request:acme:${requestId}`, `test:export:acme:${requestId}`]);
  });

  it('does not bill again what meterNow() already confirmed with the same reason', async () => {
    const receipts: unknown[] = [];
    const { sent, requestId } = await run((app, meter) => {
      app.post('/ok', meterRequests(meter, { customerId: () => 'acme', reason: 'export', delta: -10, ...ECHO }), async (req, res) => {
        receipts.push(await meterNow(meter, req, { customerId: 'acme', reason: 'export', delta: -10 }));
        res.send('ok');
      });
    });
    expect(sent.map((d) => d.referenceId)).toEqual([`test:export:acme:${requestId}`]);
    expect(receipts).toEqual([expect.objectContaining({ referenceId: `test:export:acme:${requestId}`, deduplicated: false })]);
  });
});
