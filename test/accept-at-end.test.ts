// Issue #15, "no crash window by default": with a durable store, meterRequests() (and the Fastify
// plugin, issue 24) accepts the delta when the handler ends the response, before its bytes leave;
// with a store that writes behind, the answer leaves only once the delta is durable. Error answers
// and calls the client abandoned before the handler answered are still not billed.
import { createMeter, MemoryStore, type Meter, type QueuedDelta } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import { fastifyMetering } from '@pacspace-metering/fastify';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import Fastify from 'fastify';
import { request } from 'node:http';
import { listen, waitFor, type RunningApp } from '../packages/express/test-support/harness.js';
import { listenFastify } from '../packages/fastify/test-support/harness.js';

/** A durable store that writes behind: each add is durable only when the test says so. */
class WriteBehindStore extends MemoryStore {
  override readonly durable = true;
  readonly pending: Array<{ item: QueuedDelta; commit(): void }> = [];

  override add(item: QueuedDelta): Promise<void> {
    super.add(item);
    return new Promise((resolve) => this.pending.push({ item, commit: resolve }));
  }
}

/** Two turns of the event loop, each polling I/O: bytes a server here had written by now have reached the client here. */
async function ioTurns(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** GETs `url`; with `abortWhen`, the client goes away once it resolves (the handler was reached). */
function get(url: string, abortWhen?: Promise<void>): Promise<{ status: number; body: string } | 'aborted'> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (err) => (abortWhen ? resolve('aborted') : reject(err)));
    req.end();
    void abortWhen?.then(() => req.destroy());
  });
}

/**
 * Starts the app under test, metered with `customerId` 'acme': `GET /ok` (200), `GET /refused`
 * (422), `GET /slow` (answers 200 when `release` is called, after the client may have gone).
 */
type StartApp = (meter: Meter, slow: (answer: () => void) => void) => Promise<RunningApp>;

const startExpress: StartApp = (meter, slow) => {
  const app = express();
  app.use(meterRequests(meter, { customerId: () => 'acme' }));
  app.get('/ok', (_req, res) => void res.json({ ok: true }));
  app.get('/refused', (_req, res) => void res.status(422).json({ error: 'no' }));
  app.get('/slow', (_req, res) => slow(() => void res.json({ late: true })));
  return listen(app);
};

const startFastify: StartApp = async (meter, slow) => {
  const app = Fastify();
  await app.register(fastifyMetering, { meter, customerId: () => 'acme' });
  app.get('/ok', async () => ({ ok: true }));
  app.get('/refused', async (_request, reply) => reply.code(422).send({ error: 'no' }));
  app.get('/slow', (_request, reply) => {
    slow(() => void reply.send({ late: true }));
  });
  return listenFastify(app);
};

describe.each([
  ['Express', startExpress],
  ['Fastify', startFastify],
])('%s with a durable store: a delta is accepted when the handler ends the response', (_name, start) => {
  let sandbox: Sandbox;
  let running: RunningApp;
  let store: WriteBehindStore;
  let meter: ReturnType<typeof createMeter>;
  let release: () => void = () => undefined;
  let slowReached: () => void = () => undefined;

  beforeAll(async () => {
    sandbox = await startSandbox();
    store = new WriteBehindStore();
    meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, store });
    running = await start(meter, (answer) => {
      release = answer;
      slowReached();
    });
  });
  afterAll(async () => {
    for (const p of store.pending) p.commit();
    await meter.close();
    await running.close();
    await sandbox.close();
  });

  it('holds the answer until the store says the delta is durable', async () => {
    let answered = false;
    const response = get(`${running.url}/ok`).then((r) => {
      answered = true;
      return r;
    });
    await waitFor(() => store.pending.length === 1, 'the delta handed to the store');
    // Accepted, not yet durable: the bytes have not left (had they been written, the client here would have them by now).
    await ioTurns();
    expect(answered).toBe(false);
    expect(meter.stats().accepted).toBe(1);
    store.pending[0]!.commit();
    expect(await response).toEqual({ status: 200, body: '{"ok":true}' });
    await meter.flush();
    expect(sandbox.ledger().deltas.map((d) => d.customerId)).toEqual(['acme']);
  });

  it('does not bill an error answer, nor a call whose client was gone before the handler answered', async () => {
    const before = meter.stats().accepted;
    expect(await get(`${running.url}/refused`)).toMatchObject({ status: 422 });
    const reached = new Promise<void>((resolve) => (slowReached = resolve));
    expect(await get(`${running.url}/slow`, reached)).toBe('aborted');
    await waitFor(() => running.done() >= 3, 'the abandoned call closed on the server');
    release();
    expect(meter.stats().accepted).toBe(before);
    expect(store.pending).toHaveLength(1);
  });
});
