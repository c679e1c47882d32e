// Issue 20, item 2: with a durable store, a full queue during a PacSpace outage must not keep the
// deltas that did not fit in memory only. Before the fix, they were folded into in-memory sums while
// the app answered 200: a SIGKILL lost them all (280 of 300 answered paid calls never billed) and the
// restarted instance said nothing. Now the store is the queue and memory a window onto it: each delta
// beyond the window is made durable, whole, before its answer leaves, and is delivered after a
// restart under its own referenceId (so a gateway's resend of the same call is billed once too).
//
// A real app process (Express, the default meterRequests(), a Meter with a memory window of 20 on the
// SQLite or Postgres store; the built packages) serves paid calls while PacSpace (the sandbox) is
// down; it is SIGKILLed with 300 calls answered, restarted with PacSpace back, SIGKILLed again while
// it delivers the backlog, restarted, and closed. In batch mode and in single mode, against a single
// endpoint that deduplicates by Idempotency-Key only and one that also knows the referenceId.
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { SqliteOutbox } from '@pacspace-metering/sqlite-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startChild, waitFor, type Child } from '../packages/postgres-store/test-support/helpers.js';
import { startTestDatabase, type TestDatabase } from '../packages/postgres-store/test-support/pg-cluster.js';
import { GatewayTally, ledgerOutcome, requestIdOf, sendCall } from './support/gateway-calls.js';
import { SINGLE_DELTA_DEDUPE } from './support/sandbox-behind-proxies.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const APP = join(HERE, 'fixtures', 'durable-app.mjs');
const CALLS = 330; // every 10th is answered 503 and never billed: 297 billed
const WINDOW = 20;

interface RunningApp extends Child {
  port: number;
}

describe('a full queue during an outage, then SIGKILL, with a durable store', () => {
  // Per single-endpoint dedupe mode (see SINGLE_DELTA_DEDUPE), a sandbox.
  const sandboxes = new Map<string, Sandbox>();
  let sandbox: Sandbox;
  let db: TestDatabase;
  let dir: string;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'durable-outage-'));
    for (const singleDeltaDedupe of SINGLE_DELTA_DEDUPE) sandboxes.set(singleDeltaDedupe, await startSandbox({ seed: 20, singleDeltaDedupe }));
    db = await startTestDatabase('outage');
  }, 120_000);
  afterAll(async () => {
    for (const app of apps) app.child.kill('SIGKILL');
    for (const each of sandboxes.values()) await each.close();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startApp(env: Record<string, string>): Promise<RunningApp> {
    const child = startChild(APP, [], { ...env, PACSPACE_BASE_URL: sandbox.url, PACSPACE_API_KEY: sandbox.apiKey, MAX_QUEUE_SIZE: String(WINDOW) });
    const { listening } = (await child.nextLine()) as { listening: number };
    const app = { ...child, port: listening };
    apps.push(app);
    return app;
  }

  async function kill(app: RunningApp): Promise<void> {
    app.child.kill('SIGKILL');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGKILL' });
  }

  function statsOf(app: RunningApp): Promise<{ accepted: number; folded: number; queued: number; inFlight: number; dropped: Record<string, number> }> {
    return new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port: app.port, path: '/_stats' }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve(JSON.parse(body)));
      }).on('error', reject).end();
    });
  }

  // The single endpoint's dedupe mode matters only where it is used: single delivery runs under both.
  const cases = [
    { store: 'sqlite', delivery: 'batch', dedupe: 'idempotency-key' },
    { store: 'sqlite', delivery: 'single', dedupe: 'idempotency-key' },
    { store: 'sqlite', delivery: 'single', dedupe: 'reference-id' },
    { store: 'postgres', delivery: 'batch', dedupe: 'idempotency-key' },
    { store: 'postgres', delivery: 'single', dedupe: 'idempotency-key' },
    { store: 'postgres', delivery: 'single', dedupe: 'reference-id' },
  ] as const;

  it.each(cases)('$store store, $delivery delivery, single endpoint deduplicating by $dedupe: every call answered 2xx is billed exactly once', async ({ store, delivery, dedupe }) => {
    sandbox = sandboxes.get(dedupe)!;
    const env: Record<string, string> = { DELIVERY: delivery };
    let stored: () => Promise<number>;
    if (store === 'sqlite') {
      env.STORE_PATH = join(dir, `${delivery}-${dedupe}.db`);
      stored = async () => {
        const file = SqliteOutbox.open(env.STORE_PATH!);
        try {
          return file.status().pending;
        } finally {
          file.close();
        }
      };
    } else {
      env.DATABASE_URL = db.url;
      env.PG_SCHEMA = `outage_${delivery}_${dedupe.replace('-', '_')}`;
      stored = async () => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          return Number((await client.query(`SELECT count(*) AS n FROM ${env.PG_SCHEMA}.outbox`)).rows[0].n);
        } finally {
          await client.end();
        }
      };
    }
    sandbox.reset();
    await sandbox.stop();

    // ---- PacSpace is down: 330 calls, 297 answered 200, far more than the memory window of 20 ----
    let app = await startApp(env);
    const tally = new GatewayTally(CALLS);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (tally.calls < CALLS) {
        const call = tally.nextCall();
        while (!tally.record(call, await sendCall(agent, app.port, call)));
      }
    }));
    agent.destroy();
    const billed = tally.billed;
    expect(billed.size).toBe(297);
    const during = await statsOf(app);
    const storedBeforeKill = await stored();
    await kill(app);

    // ---- PacSpace is back: a restart delivers the backlog; killed again halfway, restarted ----
    await sandbox.start();
    app = await startApp(env);
    await waitFor('some of the backlog delivered', () => sandbox.ledger().deltas.length > 0, 60_000);
    await kill(app);
    app = await startApp(env);
    await waitFor('an empty store', async () => (await stored()) === 0, 120_000);
    app.child.kill('SIGTERM');
    expect(await app.nextLine()).toEqual({ closed: true, pending: 0 });
    expect(await app.exited).toEqual({ code: 0, signal: null });

    const ledger = sandbox.ledger();
    const outcome = ledgerOutcome(ledger, billed);
    // During the outage nothing was summed in memory: every answered call waited, whole, and the
    // store held every one. After it, each is in the ledger exactly once.
    expect({
      during: { accepted: during.accepted, folded: during.folded, waiting: during.queued + during.inFlight, dropped: during.dropped, stored: storedBeforeKill },
      missing: outcome.missing.length,
      unexpected: outcome.unexpected,
      duplicates: outcome.duplicates,
      conflicts: outcome.conflicts,
    }).toEqual({
      during: { accepted: billed.size, folded: 0, waiting: billed.size, dropped: {}, stored: billed.size },
      missing: 0,
      unexpected: [],
      duplicates: [],
      conflicts: 0,
    });
    expect(ledger.deltas).toHaveLength(billed.size);
    for (const d of ledger.deltas) {
      // Each call whole, under its own referenceId: no overflow sum.
      expect(d).toMatchObject({ customerId: billed.get(requestIdOf(d.referenceId)), delta: -1, reason: 'api_request', metadata: { route: '/v1/reports/:id', method: 'GET' } });
      expect(d.idempotencyKey).toMatch(delivery === 'batch' ? /^durable:batch:/ : /^durable:api_request:/);
    }
  }, 300_000);
});
