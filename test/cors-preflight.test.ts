// Issue 20, item 7: a browser's CORS preflight is never a billable call. The Express README's own
// set-up (meterRequests app-wide, before cors(), the customer taken from the Host) billed the
// OPTIONS preflight as well as the call it asked leave for: 2 deltas for 1 call. Real apps, real
// sockets, deltas delivered to the sandbox; the last test drives a real cross-origin fetch in
// Chromium.
import 'reflect-metadata';
import { All, Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { createMeter, silentLogger, type Meter } from '@pacspace-metering/core';
import { meterRequests, type MeterRequestsOptions } from '@pacspace-metering/express';
import { MeteringGuard, MeteringModule, METER } from '@pacspace-metering/nestjs';
import { startSandbox, type LedgerDelta, type Sandbox } from '@pacspace-metering/sandbox';
import cors from 'cors';
import express from 'express';
import { request } from 'node:http';
import { chromium } from 'playwright-core';
import { listen, type RunningApp } from '../packages/express/test-support/harness.js';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './support/chromium.js';
import { bootNest } from './support/nest-apps.js';

/** What a browser sends before a cross-origin POST with a JSON body. */
const PREFLIGHT = { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' };

/** One request over a fresh connection, with a Host of our choosing (the tenant); resolves with the status. */
function send(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, agent: false, headers: { host: 'acme.api.example', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

/** The deltas the sandbox holds once `meter` has delivered everything. */
async function billed(meter: Meter): Promise<Pick<LedgerDelta, 'customerId' | 'metadata'>[]> {
  const report = await meter.flush({ timeoutMs: 10_000 });
  expect(report.pending).toBe(0);
  return sandbox.ledger().deltas.map(({ customerId, metadata }) => ({ customerId, metadata }));
}

describe('Express: meterRequests() app-wide, before cors(), customer from the Host', () => {
  let meter: Meter;
  let app: RunningApp;
  async function start(options: Partial<MeterRequestsOptions> = {}): Promise<void> {
    meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'cors', logger: silentLogger });
    const server = express();
    server.use(meterRequests(meter, { customerId: (req) => req.hostname.split('.')[0], ...options }));
    // An OPTIONS route of the API's own (before cors(), which answers every OPTIONS it sees).
    server.options('/v1/capabilities', (_req, res) => void res.set('allow', 'GET, OPTIONS').json({ formats: ['pdf'] }));
    server.use(cors());
    server.post('/v1/reports', (_req, res) => void res.status(201).json({ id: 'r1' }));
    server.get('/v1/reports/:id', (req, res) => void res.json({ id: req.params.id }));
    app = await listen(server);
  }
  afterEach(async () => {
    await app.close();
    await meter.close({ timeoutMs: 5_000 });
  });

  it('bills a browser-shaped preflight and its POST once: the POST', async () => {
    await start();
    expect(await send(app.url, 'OPTIONS', '/v1/reports', PREFLIGHT)).toBe(204); // cors() answered it
    expect(await send(app.url, 'POST', '/v1/reports', { origin: PREFLIGHT.origin, 'content-type': 'application/json' }, '{}')).toBe(201);
    expect(await billed(meter)).toEqual([{ customerId: 'acme', metadata: { route: '/v1/reports', method: 'POST' } }]);
  });

  it('leaves every OPTIONS unbilled by default; meterOptionsRequests bills a plain OPTIONS, never a preflight', async () => {
    await start();
    expect(await send(app.url, 'OPTIONS', '/v1/capabilities', {})).toBe(200);
    expect(await billed(meter)).toEqual([]);
    await app.close();
    await meter.close();

    await start({ meterOptionsRequests: true });
    expect(await send(app.url, 'OPTIONS', '/v1/capabilities', {})).toBe(200);
    expect(await send(app.url, 'OPTIONS', '/v1/reports', PREFLIGHT)).toBe(204);
    expect(await billed(meter)).toEqual([{ customerId: 'acme', metadata: { route: '/v1/capabilities', method: 'OPTIONS' } }]);
  });

  it('bills HEAD like GET (Express runs the GET handler for it)', async () => {
    await start();
    expect(await send(app.url, 'HEAD', '/v1/reports/7', {})).toBe(200);
    expect(await billed(meter)).toEqual([{ customerId: 'acme', metadata: { route: '/v1/reports/:id', method: 'HEAD' } }]);
  });
});

describe('NestJS: a global MeteringGuard and a route that answers every method', () => {
  @Controller()
  class GatewayController {
    @All('gateway')
    forward() {
      return { forwarded: true };
    }

    @Get('reports')
    list() {
      return [];
    }
  }

  async function boot(meterOptionsRequests?: boolean): Promise<{ app: INestApplication; base: string; meter: Meter }> {
    @Module({
      imports: [
        MeteringModule.forRoot({
          apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'cors-nest', logger: silentLogger, reason: 'api_request', meterOptionsRequests,
          customerId: (req: { hostname: string }) => req.hostname.split('.')[0],
        }),
      ],
      controllers: [GatewayController],
      providers: [{ provide: APP_GUARD, useClass: MeteringGuard }],
    })
    class AppModule {}
    const { app, base } = await bootNest(AppModule);
    return { app, base, meter: app.get<Meter>(METER) };
  }

  it('never bills the preflight, and by default no OPTIONS; meterOptionsRequests bills a plain one', async () => {
    const plain = await boot();
    try {
      expect(await send(plain.base, 'OPTIONS', '/gateway', PREFLIGHT)).toBe(200);
      expect(await send(plain.base, 'OPTIONS', '/gateway', {})).toBe(200);
      expect(await send(plain.base, 'POST', '/gateway', { origin: PREFLIGHT.origin })).toBe(200);
      expect(await billed(plain.meter)).toEqual([{ customerId: 'acme', metadata: { route: '/gateway', method: 'POST' } }]);
    } finally {
      await plain.app.close();
    }
    sandbox.reset();

    const optedIn = await boot(true);
    try {
      expect(await send(optedIn.base, 'OPTIONS', '/gateway', PREFLIGHT)).toBe(200);
      expect(await send(optedIn.base, 'OPTIONS', '/gateway', {})).toBe(200);
      expect(await billed(optedIn.meter)).toEqual([{ customerId: 'acme', metadata: { route: '/gateway', method: 'OPTIONS' } }]);
    } finally {
      await optedIn.app.close();
    }
  });
});

const inBrowser = haveChromium('the cross-origin fetch in Chromium') ? it : it.skip;

describe('a real cross-origin fetch in Chromium', () => {
  inBrowser('sends a preflight and a POST, and one delta is billed', async () => {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'cors-browser', logger: silentLogger });
    const methods: string[] = [];
    const api = express();
    api.use((req, _res, next) => void (methods.push(req.method), next()));
    api.use(meterRequests(meter, { customerId: (req) => req.hostname.replaceAll('.', '-') }));
    api.use(cors());
    api.post('/v1/reports', (_req, res) => void res.status(201).json({ id: 'r1' }));
    const apiApp = await listen(api);
    // The page lives on another origin (another port): its JSON POST needs a preflight.
    const site = express();
    site.get('/', (_req, res) => void res.type('html').send('<!doctype html><title>app</title>'));
    const siteApp = await listen(site);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(`${siteApp.url}/`);
      const status = await page.evaluate(
        (url) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((res) => res.status),
        `${apiApp.url}/v1/reports`,
      );
      expect(status).toBe(201);
      expect(methods).toEqual(['OPTIONS', 'POST']);
      expect(await billed(meter)).toEqual([{ customerId: '127-0-0-1', metadata: { route: '/v1/reports', method: 'POST' } }]);
    } finally {
      await browser.close();
      await siteApp.close();
      await apiApp.close();
      await meter.close({ timeoutMs: 5_000 });
    }
  });
});
