// Issue 20, item 14: the Postgres README's transactional route, run as written, against a real
// PostgreSQL whose connection breaks in the middle of the transaction. Before the fix its `catch`
// ran `await client.query('ROLLBACK')`, which throws on a broken connection: that second error
// replaced the first (the one that says what happened), `next(err)` was never called, and the
// client went back with `release()` rather than `release(err)`. Now the route reports the first
// error, and the app stays healthy for the next order.
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { transformSync } from '@swc/core';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startChild, waitFor, type Child } from '../packages/postgres-store/test-support/helpers.js';
import { startTestDatabase, type TestDatabase } from '../packages/postgres-store/test-support/pg-cluster.js';
import { snippetsOf } from './support/readme-snippets.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Inside test/, so the snippet resolves the test package's dependencies; `.tmp/` is git-ignored. */
const DIR = join(ROOT, 'test', '.tmp', 'postgres-readme-transaction');

/** The README's transactional route as JavaScript, with a `listen` that prints the port. */
function snippetApp(): string {
  const snippet = snippetsOf(join(ROOT, 'packages', 'postgres-store', 'README.md'), ROOT).find((s) => s.code.includes('enqueueInTransaction') && s.code.includes('app.post'));
  if (!snippet) throw new Error('the Postgres README has no transactional route snippet');
  const { code } = transformSync(snippet.code, { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } });
  return `${code}\nconst server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));\n`;
}

function post(port: number, orderId: string): Promise<{ status: number; body: string }> {
  return fetch(`http://127.0.0.1:${port}/orders/${orderId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customerId: 'acme' }) })
    .then(async (res) => ({ status: res.status, body: await res.text() }));
}

describe("the Postgres README's transactional route", () => {
  let db: TestDatabase;
  let sandbox: Sandbox;
  let app: Child | undefined;
  beforeAll(async () => {
    db = await startTestDatabase('readme_tx');
    sandbox = await startSandbox({ seed: 14 });
    mkdirSync(DIR, { recursive: true });
    writeFileSync(join(DIR, 'package.json'), '{ "type": "module", "private": true }\n');
    writeFileSync(join(DIR, 'app.mjs'), snippetApp());
  }, 120_000);
  afterAll(async () => {
    app?.child.kill('SIGKILL');
    await sandbox.close();
    await db.stop();
    rmSync(DIR, { recursive: true, force: true });
  });

  it('reports the first error when the connection breaks mid-transaction, and serves the next order', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    admin.on('error', () => undefined); // the cluster stops after the test, whatever its outcome
    await admin.connect();
    await admin.query('CREATE TABLE orders (id text PRIMARY KEY, customer_id text NOT NULL)');
    // Development mode: Express's default error handler answers with the error it was given.
    app = startChild(join(DIR, 'app.mjs'), [], { DATABASE_URL: db.url, PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url, NODE_ENV: 'development' });
    const { port } = (await app.nextLine()) as { port: number };

    // Another transaction holds order o-1, so the route's INSERT waits inside its transaction;
    // then its connection is terminated, as a failover or a restarted server would.
    const holder = new pg.Client({ connectionString: db.url });
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query("INSERT INTO orders (id, customer_id) VALUES ('o-1', 'someone')");
    const answer = post(port, 'o-1');
    const waiting = await waitFor('the route waiting inside its transaction', async () => (await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO orders%'",
    )).rows[0]?.pid);
    await admin.query('SELECT pg_terminate_backend($1)', [waiting]);
    const broken = await answer;
    await holder.query('ROLLBACK');
    await holder.end();

    // The error that reached Express is the first one (the server ended the connection), not the
    // ROLLBACK's on a connection that is gone.
    expect(broken.status).toBe(500);
    expect(broken.body).toMatch(/terminating connection due to administrator command/);
    expect(broken.body).not.toMatch(/not queryable|Connection terminated/i);

    // The app carries on: the next order commits with its delta, and is billed once.
    expect(await post(port, 'o-2')).toMatchObject({ status: 201 });
    expect((await admin.query("SELECT count(*)::int AS n FROM orders WHERE id = 'o-2'")).rows[0].n).toBe(1);
    await waitFor('the order billed', () => sandbox.ledger().deltas.some((d) => d.referenceId?.endsWith(':o-2')), 10_000);
    expect(sandbox.ledger().deltas.map((d) => d.reason)).toEqual(['order_placed']);
    await admin.end();
  }, 60_000);
});
