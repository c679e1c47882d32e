// Issue 20, item 9: three Meters on one Postgres outbox, driven hard, never deadlock with each other
// or with themselves. Before the fix, lease renewal (`UPDATE ... WHERE lease_owner`, rows locked in
// whatever order the scan met them) and the write-behind settle (`UPDATE` of rescheduled rows, then
// `DELETE ... WHERE id = ANY`, in one transaction) locked the same rows in opposite orders: PostgreSQL
// aborted one of them (40P01), surfacing as STORE_WRITE_FAILED / STORE_UNAVAILABLE and lost renewals.
import { createMeter, type Meter } from '@pacspace-metering/core';
import { createPostgresStore, type PostgresStore, type PostgresStoreError } from '@pacspace-metering/postgres-store';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import pg from 'pg';
import { startTestDatabase, type TestDatabase } from '../packages/postgres-store/test-support/pg-cluster.js';

const METERS = 3;
const ROUNDS = 20;
const PER_ROUND = 250;

describe('three Meters on one Postgres outbox under load', () => {
  let db: TestDatabase;
  let sandbox: Sandbox;
  beforeAll(async () => {
    db = await startTestDatabase('deadlock');
    sandbox = await startSandbox({ seed: 9 });
  }, 120_000);
  afterAll(async () => {
    await sandbox.close();
    await db.stop();
  });

  it('renewals, leases and write-behind settles never deadlock', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    // Detect deadlocks fast (the default is 1 s): the test runs for seconds, not minutes.
    await admin.query(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} SET deadlock_timeout = '50ms'`);
    const deadlocksSoFar = async () => Number((await admin.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0].deadlocks);
    const before = await deadlocksSoFar();

    // Transient failures make the settles reschedule rows as well as delete them, as in production.
    sandbox.setFaults({ latencyMs: { min: 5, max: 30 }, serverError: { rate: 0.2, statuses: [503] } });
    const errors: PostgresStoreError[] = [];
    const stores: PostgresStore[] = [];
    const meters: Meter[] = [];
    for (let i = 0; i < METERS; i++) {
      // The shortest lease renews every 333 ms, over thousands of rows; settles are written at once.
      const store = await createPostgresStore({ connectionString: db.url, leaseMs: 1_000, settleDelayMs: 0, pollIntervalMs: 250, poolSize: 6, onError: (e) => errors.push(e) });
      stores.push(store);
      meters.push(createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'deadlock', store, maxBatchSize: 20, flushIntervalMs: 0, concurrency: 8, retryBaseDelayMs: 1, retryMaxDelayMs: 20, maxAttempts: 10_000, maxQueueSize: 1_000_000, maxQueueBytes: 1024 ** 3 }));
    }

    let enqueued = 0;
    for (let round = 0; round < ROUNDS; round++) {
      meters.forEach((meter, m) => {
        for (let i = 0; i < PER_ROUND; i++) {
          const result = meter.enqueue({ customerId: `cust-${i % 7}`, delta: -1, reason: 'api_request', requestId: `m${m}-r${round}-${i}` });
          expect(result.accepted).toBe(true);
          enqueued++;
        }
      });
      // Let the group commits, deliveries, settles and renewals interleave.
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    sandbox.setFaults({});
    const reports = await Promise.all(meters.map((meter) => meter.close({ timeoutMs: 120_000 })));
    await admin.query('SELECT pg_stat_clear_snapshot()');
    const after = await deadlocksSoFar();
    const leftInOutbox = Number((await admin.query('SELECT count(*) AS n FROM pacspace_metering.outbox')).rows[0].n);
    await admin.end();

    // A deadlock PostgreSQL detected, whether or not it reached a store's onError (a renewal, a settle, a hand-back).
    const deadlockErrors = errors.filter((e) => (e.cause as { code?: string } | undefined)?.code === '40P01').map((e) => `${e.code}: ${e.message}`);
    expect({ deadlockErrors: deadlockErrors.slice(0, 3), deadlocks: after - before }).toEqual({ deadlockErrors: [], deadlocks: 0 });
    expect(reports.map((r) => ({ pending: r.pending, timedOut: r.timedOut }))).toEqual(reports.map(() => ({ pending: 0, timedOut: false })));
    expect(leftInOutbox).toBe(0);
    const ledger = sandbox.ledger();
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.deltas).toHaveLength(enqueued);
  }, 240_000);
});
