import { meterRequests, routePattern } from '@pacspace-metering/express';
import express, { Router, type Request } from 'express';
import { listen, recordingMeter, type RunningApp } from '../test-support/harness.js';

/**
 * The route dimension is the pattern with every mount path, read when the response finishes,
 * never the raw URL. One app with nested, pattern-mounted, multiply-mounted routers and a sub-app.
 */
describe('route pattern in metadata', () => {
  const { meter, sent } = recordingMeter();
  let running: RunningApp;
  let calls = 0;
  const inHandler: Array<string | undefined> = [];

  beforeAll(async () => {
    const app = express();
    app.use(meterRequests(meter, { customerId: () => 'acme' }));

    const reports = Router();
    reports.get('/', (_req, res) => void res.send('list'));
    reports.get('/:id', (req, res) => {
      inHandler.push(routePattern(req));
      res.send('one');
    });
    reports.get('/:id/slow', async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      res.send('slow');
    });
    reports.get('/:id/pass', (_req, _res, next) => next());
    const v1 = Router();
    v1.use('/reports', reports);
    v1.get('/status', (_req, res) => void res.send('status'));

    const tenant = Router({ mergeParams: true });
    tenant.get('/items/:item', (_req, res) => void res.send('item'));
    tenant.use('/v1', v1);

    const sub = express();
    sub.get('/s/:key', (_req, res) => void res.send('sub'));
    sub.use('/v1', v1);

    app.use('/v1', v1);
    app.use('/t/:tenant', tenant);
    app.use(['/x', '/y/:region'], v1);
    app.get(['/a', '/b/:x'], (_req, res) => void res.send('array'));
    app.get('/files/*rest', (_req, res) => void res.send('splat'));
    app.use('/org/:org', sub);
    app.get('/', (_req, res) => void res.send('root'));
    app.use((_req, res) => void res.send('catch-all 200'));
    running = await listen(app);
  });
  afterAll(() => running.close());

  it.each([
    ['/v1/reports/42', '/v1/reports/:id'],
    ['/v1/reports/42/slow', '/v1/reports/:id/slow'],
    ['/v1/reports', '/v1/reports'],
    ['/v1/reports/', '/v1/reports'],
    ['/V1/Reports/42', '/v1/reports/:id'],
    ['/v1/status?verbose=1', '/v1/status'],
    ['/t/acme/items/3', '/t/:tenant/items/:item'],
    ['/t/acme/v1/reports/9', '/t/:tenant/v1/reports/:id'],
    ['/x/reports/1', '/x/reports/:id'],
    ['/y/eu-west/reports/2', '/y/:region/reports/:id'],
    ['/a', '/a'],
    ['/b/9', '/b/:x'],
    ['/files/docs/readme.md', '/files/*rest'],
    ['/org/o1/s/5', '/org/:org/s/:key'],
    ['/org/o2/v1/reports/7', '/org/:org/v1/reports/:id'],
    ['/', '/'],
    ['/unknown/123', undefined],
    ['/v1/reports/1/pass', undefined],
  ])('GET %s -> %s', async (path, expected) => {
    calls++;
    const res = await fetch(running.url + path);
    expect(res.status).toBe(200);
    await res.text();
    await running.waitForDone(calls);
    await meter.flush();
    const metadata = sent.at(-1)!.metadata!;
    expect(sent).toHaveLength(calls);
    expect(metadata.route).toBe(expected);
    if (expected === undefined) expect('route' in metadata).toBe(false);
    // never the raw URL
    if (expected !== undefined && expected !== path) expect(metadata.route).not.toBe(path);
  });

  it('is the same inside the handler', () => {
    expect(inHandler).toEqual(['/v1/reports/:id', '/v1/reports/:id', '/t/:tenant/v1/reports/:id', '/x/reports/:id', '/y/:region/reports/:id', '/org/:org/v1/reports/:id']);
  });

  it('is undefined for a request no route handled', () => {
    expect(routePattern({ baseUrl: '', app: undefined } as unknown as Request)).toBeUndefined();
  });
});
