// Issue 20, item 10: flush() on a freshly started Postgres-backed Meter waits for the due rows the
// table holds, like any other pending delta. Before the fix it answered { pending: 0 } at once, so a
// short job (start, flush, exit) left them in the table. A job that ran while PacSpace was down
// leaves 50 rows; the next run of the job, a real process with PacSpace back, must deliver them.
import { createMeter } from '@pacspace-metering/core';
import { createPostgresStore } from '@pacspace-metering/postgres-store';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startChild } from '../packages/postgres-store/test-support/helpers.js';
import { startTestDatabase, type TestDatabase } from '../packages/postgres-store/test-support/pg-cluster.js';

const JOB = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pg-flush-job.mjs');
const SCHEMA = 'fresh_flush';

describe('flush() on a fresh Meter on the Postgres outbox', () => {
  let db: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    db = await startTestDatabase('fresh_flush');
    sandbox = await startSandbox({ seed: 10 });
  }, 120_000);
  afterAll(async () => {
    await sandbox.close();
    await db.stop();
  });

  it('delivers the rows an earlier run left before it answers', async () => {
    // ---- the earlier run: PacSpace down, 50 deltas accepted, a close that runs out of time ----
    await sandbox.stop();
    const store = await createPostgresStore({ connectionString: db.url, schema: SCHEMA });
    const earlier = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'job', store, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    const accepted = Array.from({ length: 50 }, (_, i) => earlier.enqueue({ customerId: `cust-${i % 5}`, delta: -2, reason: 'export', requestId: `export-${i}` }));
    await Promise.all(accepted.map((r) => (r.accepted ? r.committed : undefined)));
    expect(await earlier.close({ timeoutMs: 200 })).toMatchObject({ pending: 50, timedOut: true });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const rows = async () => Number((await client.query(`SELECT count(*) AS n FROM ${SCHEMA}.outbox`)).rows[0].n);
    expect(await rows()).toBe(50);

    // ---- the next run of the job, PacSpace back: start, flush, close, exit ----
    await sandbox.start();
    const job = startChild(JOB, [], { DATABASE_URL: db.url, PG_SCHEMA: SCHEMA, PACSPACE_BASE_URL: sandbox.url, PACSPACE_API_KEY: sandbox.apiKey });
    const report = await job.nextLine();
    expect(await job.exited).toEqual({ code: 0, signal: null });
    expect(report).toEqual({ flush: { delivered: 50, deduplicated: 0, failed: 0, dropped: 0, pending: 0, timedOut: false }, close: { pending: 0, timedOut: false } });
    expect(await rows()).toBe(0);
    await client.end();
    const ledger = sandbox.ledger();
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual(accepted.map((r) => r.referenceId).sort());
  }, 60_000);
});
