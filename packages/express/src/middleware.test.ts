import type { Meter } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { abortMidResponse, listen, recordingMeter, type RunningApp } from '../test-support/harness.js';

/**
 * One app with every kind of ending, metered app-wide; each test counts what the meter accepted.
 * The id echo is off by default: turned on here, to find what was billed for each response.
 */
describe('meterRequests(): what is billed', () => {
  let running: RunningApp;
  let requests = 0;
  const { meter, sent } = recordingMeter();

  beforeAll(async () => {
    const app = express();
    app.use(meterRequests(meter, { customerId: (req) => String(req.get('x-customer') ?? 'acme'), responseHeader: 'x-request-id' }));
    app.get('/ok', (_req, res) => void res.json({ ok: true }));
    app.post('/created', (_req, res) => void res.status(201).end());
    app.get('/redirect', (_req, res) => res.redirect(302, '/ok'));
    app.get('/async-ok', async (_req, res) => {
      await new Promise((resolve) => setImmediate(resolve));
      res.send('late but fine');
    });
    app.get('/stream', (_req, res) => {
      res.write('part 1, ');
      setImmediate(() => res.end('part 2'));
    });
    app.get('/not-found', (_req, res) => void res.status(404).json({ error: 'nope' }));
    app.get('/bad', (_req, res) => void res.status(422).send('invalid'));
    app.get('/server-error', (_req, res) => void res.sendStatus(503));
    app.get('/throws', () => {
      throw new Error('boom');
    });
    app.get('/next-err', (_req, _res, next) => next(new Error('passed on')));
    app.get('/rejects', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('rejected');
    });
    app.get('/aborted', (_req, res) => {
      res.write('first chunk');
      // Ends only after the client has gone away.
      res.once('close', () => res.end('never arrives'));
    });
    // An error handler that answers 200 would make a failure look like a success: isSuccess decides on the status sent.
    app.get('/handled', (_req, _res, next) => next(new Error('recovered')));
    app.use((err: Error, req: Request, res: Response, next: NextFunction) => {
      if (req.path === '/handled') return void res.status(200).send(`recovered from ${err.message}`);
      next(err);
    });
    running = await listen(app);
  });
  afterAll(() => running.close());

  async function call(path: string, init?: RequestInit): Promise<{ status: number; requestId: string | null }> {
    requests++;
    const res = await fetch(running.url + path, init);
    await res.arrayBuffer();
    return { status: res.status, requestId: res.headers.get('x-request-id') };
  }

  /** Waits until the server is done with every request so far, then returns what the meter accepted. */
  async function acceptedSoFar(): Promise<number> {
    await running.waitForDone(requests);
    return meter.stats().accepted;
  }

  it.each([
    ['200 JSON', '/ok', 'GET', 200],
    ['201 with no body', '/created', 'POST', 201],
    ['302 redirect (status < 400)', '/redirect', 'GET', 302],
    ['a response sent after an await', '/async-ok', 'GET', 200],
    ['a streamed response', '/stream', 'GET', 200],
    ['200 from an error handler that recovered', '/handled', 'GET', 200],
  ])('bills %s once', async (_name, path, method, status) => {
    const before = await acceptedSoFar();
    const res = await call(path, { method, redirect: 'manual' });
    expect(res.status).toBe(status);
    expect(await acceptedSoFar()).toBe(before + 1);
    await meter.flush();
    const delta = sent.at(-1)!;
    expect(delta).toMatchObject({ customerId: 'acme', delta: -1, reason: 'api_request', referenceId: `test:api_request:acme:${res.requestId}` });
    expect(delta.metadata).toMatchObject({ method });
  });

  it.each([
    ['404', '/not-found', 404],
    ['422', '/bad', 422],
    ['503', '/server-error', 503],
    ['a handler that throws', '/throws', 500],
    ['next(err)', '/next-err', 500],
    ['a rejected async handler (Express 5)', '/rejects', 500],
    ['an unmatched path', '/nowhere', 404],
  ])('does not bill %s', async (_name, path, status) => {
    const before = await acceptedSoFar();
    expect((await call(path)).status).toBe(status);
    expect(await acceptedSoFar()).toBe(before);
  });

  it('does not bill a response the client aborted mid-body', async () => {
    const before = await acceptedSoFar();
    requests++;
    const headers = await abortMidResponse(`${running.url}/aborted`);
    expect(headers['x-request-id']).toEqual(expect.any(String));
    expect(await acceptedSoFar()).toBe(before);
    await meter.flush();
    expect(sent.map((d) => d.referenceId)).not.toContain(`test:api_request:acme:${headers['x-request-id']}`);
  });

  it('bills the customer the resolver names at finish time', async () => {
    const res = await call('/ok', { headers: { 'x-customer': 'globex' } });
    await acceptedSoFar();
    await meter.flush();
    expect(sent.at(-1)).toMatchObject({ customerId: 'globex', referenceId: `test:api_request:globex:${res.requestId}` });
  });
});

describe('meterRequests(): options at work', () => {
  async function runApp(build: (app: express.Express, meter: Meter) => void, paths: Array<string | [string, RequestInit]>) {
    const { meter, sent, drops, errors } = recordingMeter();
    const app = express();
    build(app, meter);
    const running = await listen(app);
    const responses: Array<{ status: number; body: string; requestId: string | null }> = [];
    try {
      for (const entry of paths) {
        const [path, init] = typeof entry === 'string' ? [entry, undefined] : entry;
        const res = await fetch(running.url + path, init);
        responses.push({ status: res.status, body: await res.text(), requestId: res.headers.get('x-request-id') });
      }
      await running.waitForDone(paths.length);
      await meter.flush();
    } finally {
      await running.close();
    }
    return { meter, sent, drops, errors, responses };
  }

  it('meters a route whose headers went out before the middleware ran, without an echo header even when one is asked for', async () => {
    const { sent, responses, errors } = await runApp((app, meter) => {
      app.get(
        '/early',
        (_req, res, next) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('headers already out, ');
          next();
        },
        meterRequests(meter, { customerId: () => 'acme', responseHeader: 'x-request-id' }),
        (_req, res) => void res.end('body finished later'),
      );
    }, ['/early']);
    expect(responses).toEqual([{ status: 200, body: 'headers already out, body finished later', requestId: null }]);
    expect(errors).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ customerId: 'acme', metadata: { route: '/early', method: 'GET' } });
  });

  it('reads customerId set by an auth middleware that runs after the meter', async () => {
    const { sent } = await runApp((app, meter) => {
      app.use(meterRequests(meter, { customerId: (req) => (req as Request & { user?: { accountId: string } }).user?.accountId }));
      app.use((req, _res, next) => {
        (req as Request & { user?: { accountId: string } }).user = { accountId: 'acct_42' };
        next();
      });
      app.get('/ok', (_req, res) => void res.send('ok'));
    }, ['/ok']);
    expect(sent.map((d) => d.customerId)).toEqual(['acct_42']);
  });

  it('uses delta and reason functions of the finished request and response', async () => {
    const { sent } = await runApp((app, meter) => {
      app.use(
        meterRequests(meter, {
          customerId: () => 'acme',
          delta: (req, res) => -Number(req.query.units) * (res.statusCode === 201 ? 2 : 1),
          reason: (req) => `${req.method.toLowerCase()}_report`,
        }),
      );
      app.get('/r', (_req, res) => void res.send('ok'));
      app.post('/r', (_req, res) => void res.status(201).send('ok'));
    }, ['/r?units=3', ['/r?units=5', { method: 'POST' }]]);
    expect(sent.map((d) => [d.delta, d.reason])).toEqual([
      [-3, 'get_report'],
      [-10, 'post_report'],
    ]);
  });

  it('merges metadata over route and method, the caller winning', async () => {
    const { sent } = await runApp((app, meter) => {
      app.use(meterRequests(meter, { customerId: () => 'acme', metadata: (req, res) => ({ status: res.statusCode, method: `${req.method}!`, plan: 'pro' }) }));
      app.get('/items/:id', (_req, res) => void res.send('ok'));
    }, ['/items/7']);
    expect(sent[0]!.metadata).toEqual({ route: '/items/:id', method: 'GET!', status: 200, plan: 'pro' });
  });

  it('omits route when no route matched (a plain middleware answered)', async () => {
    const { sent } = await runApp((app, meter) => {
      app.use(meterRequests(meter, { customerId: () => 'acme' }));
      app.use((_req, res) => void res.send('catch-all'));
    }, ['/anything/123']);
    expect(sent[0]!.metadata).toEqual({ method: 'GET' });
  });

  it('uses isSuccess instead of status < 400', async () => {
    const { sent } = await runApp((app, meter) => {
      app.use(meterRequests(meter, { customerId: () => 'acme', isSuccess: (_req, res) => res.statusCode === 200 || res.statusCode === 404 }));
      app.get('/ok', (_req, res) => void res.send('ok'));
      app.get('/gone', (_req, res) => void res.status(404).send('billed anyway'));
      app.get('/moved', (_req, res) => res.redirect('/ok'));
    }, ['/ok', '/gone', ['/moved', { redirect: 'manual' }]]);
    expect(sent.map((d) => d.metadata?.route)).toEqual(['/ok', '/gone']);
  });

  it('skips what skip() selects, without echoing a request id on it when the echo is on', async () => {
    const { sent, responses } = await runApp((app, meter) => {
      app.use(meterRequests(meter, { customerId: () => 'acme', skip: (req) => req.path === '/health', responseHeader: 'x-request-id' }));
      app.get('/health', (_req, res) => void res.send('up'));
      app.get('/ok', (_req, res) => void res.send('ok'));
    }, ['/health', '/ok']);
    expect(sent.map((d) => d.metadata?.route)).toEqual(['/ok']);
    expect(responses[0]!.requestId).toBeNull();
    expect(sent.map((d) => d.referenceId)).toEqual([`test:api_request:acme:${responses[1]!.requestId}`]);
  });

  it('meters per route with its own reason and delta', async () => {
    const { sent } = await runApp((app, meter) => {
      app.post('/reports', meterRequests(meter, { customerId: () => 'acme', reason: 'report_generated', delta: -5 }), (_req, res) => void res.status(201).send('ok'));
      app.get('/free', (_req, res) => void res.send('free'));
    }, [['/reports', { method: 'POST' }], '/free']);
    expect(sent.map((d) => [d.reason, d.delta, d.metadata?.route])).toEqual([['report_generated', -5, '/reports']]);
  });
});
