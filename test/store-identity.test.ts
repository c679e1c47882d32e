// Issue 20, item 5: a durable store never delivers one service's usage into another's account.
// Before the fix, service A (scope service-a, key A) closed during its outage and handed its 100 rows
// back; service B's Meter (scope service-b, key B) on the same Postgres schema leased them and
// delivered them into account B; a SQLite file reopened by another Meter did the same. Now every row
// records the Meter that accepted it (its scope and a fingerprint of its key), only a Meter with the
// same two delivers it, and a Meter that finds rows of its scope from another key says so.
//
// Two sandboxes stand for two PacSpace accounts (each accepts only its own key). Real Meters deliver
// over loopback, on a real PostgreSQL and a real SQLite file; in batch mode and in single mode,
// against a single endpoint that deduplicates by Idempotency-Key only and one that also knows the
// referenceId.
import { createMeter, meterAccount, type Meter, type MeterStore } from '@pacspace-metering/core';
import { createPostgresStore, type PostgresStoreError } from '@pacspace-metering/postgres-store';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { SINGLE_DELTA_DEDUPE } from './support/sandbox-behind-proxies.js';
import { createSqliteStore, type SqliteStoreError } from '@pacspace-metering/sqlite-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../packages/postgres-store/test-support/helpers.js';
import { startTestDatabase, type TestDatabase } from '../packages/postgres-store/test-support/pg-cluster.js';

const KEY_A = 'pk_test_servicea.secret-of-a';
const KEY_B = 'pk_test_serviceb.secret-of-b';
const ROWS = 100;
type SingleDeltaDedupe = (typeof SINGLE_DELTA_DEDUPE)[number];

describe('rows belong to the Meter that accepted them', () => {
  // Per single-endpoint dedupe mode (see SINGLE_DELTA_DEDUPE), a pair of accounts.
  const accounts = new Map<SingleDeltaDedupe, { a: Sandbox; b: Sandbox }>();
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    for (const singleDeltaDedupe of SINGLE_DELTA_DEDUPE) {
      accounts.set(singleDeltaDedupe, { a: await startSandbox({ seed: 51, apiKey: KEY_A, singleDeltaDedupe }), b: await startSandbox({ seed: 52, apiKey: KEY_B, singleDeltaDedupe }) });
    }
    db = await startTestDatabase('identity');
    dir = mkdtempSync(join(tmpdir(), 'store-identity-'));
  }, 120_000);
  afterAll(async () => {
    for (const { a, b } of accounts.values()) await Promise.all([a.close(), b.close()]);
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  type Errors = Array<PostgresStoreError | SqliteStoreError>;
  const stores = {
    postgres: (name: string, errors: Errors) => createPostgresStore({ connectionString: db.url, schema: name, pollIntervalMs: 50, onError: (e) => void errors.push(e) }),
    sqlite: async (name: string, errors: Errors) => createSqliteStore({ path: join(dir, `${name}.db`), onError: (e) => void errors.push(e) }),
  };

  function meterOn(store: MeterStore, scope: string, key: string, account: Sandbox, delivery: 'batch' | 'single'): Meter {
    return createMeter({ apiKey: key, baseUrl: account.url, scope, store, delivery, retryBaseDelayMs: 5, retryMaxDelayMs: 50, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  }

  // The single endpoint's dedupe mode matters only where it is used: single delivery runs under both.
  const cases = [
    { kind: 'postgres', delivery: 'batch', dedupe: 'idempotency-key' },
    { kind: 'postgres', delivery: 'single', dedupe: 'idempotency-key' },
    { kind: 'postgres', delivery: 'single', dedupe: 'reference-id' },
    { kind: 'sqlite', delivery: 'batch', dedupe: 'idempotency-key' },
    { kind: 'sqlite', delivery: 'single', dedupe: 'idempotency-key' },
    { kind: 'sqlite', delivery: 'single', dedupe: 'reference-id' },
  ] as const;

  it.each(cases)('$kind store, $delivery delivery, single endpoint deduplicating by $dedupe: service B never delivers service A\'s rows; A does, once', async ({ kind, delivery, dedupe }) => {
    const name = `identity_${delivery}_${dedupe.replace('-', '_')}`;
    const { a: accountA, b: accountB } = accounts.get(dedupe)!;
    accountA.reset();
    accountB.reset();
    const errors: Errors = [];

    // ---- service A, during an outage of its account: 100 deltas accepted, then a close that runs out of time ----
    await accountA.stop();
    const meterA = meterOn(await stores[kind](name, errors), 'service-a', KEY_A, accountA, delivery);
    const accepted = Array.from({ length: ROWS }, (_, i) => meterA.enqueue({ customerId: `cust-${i % 4}`, delta: -1, reason: 'api_request', requestId: `a-${i}` }));
    await Promise.all(accepted.map((r) => (r.accepted ? r.committed : undefined)));
    expect((await meterA.close({ timeoutMs: 300 })).pending).toBe(ROWS);

    // ---- service B (another scope, another key) on the same schema or file ----
    const meterB = meterOn(await stores[kind](name, errors), 'service-b', KEY_B, accountB, delivery);
    meterB.enqueue({ customerId: 'cust-b', delta: -1, reason: 'api_request', requestId: 'b-1' });
    expect(await meterB.flush({ timeoutMs: 20_000 })).toMatchObject({ pending: 0, timedOut: false });
    await meterB.close();
    // Account B holds B's own delta and nothing of A's.
    expect(accountB.ledger().deltas.map((d) => d.referenceId)).toEqual(['service-b:api_request:cust-b:b-1']);

    // ---- a Meter of service A's scope with key B: not A's account either ----
    const errorsBefore = errors.length;
    const meterC = meterOn(await stores[kind](name, errors), 'service-a', KEY_B, accountB, delivery);
    expect(await meterC.flush({ timeoutMs: 20_000 })).toMatchObject({ pending: 0, timedOut: false });
    await waitFor('the foreign rows reported', () => errors.slice(errorsBefore).some((e) => e.code === 'STORE_FOREIGN_ROWS'), 10_000);
    await meterC.close();
    const foreign = errors.slice(errorsBefore).find((e) => e.code === 'STORE_FOREIGN_ROWS')!;
    // It names the other account (a fingerprint, never the key) and how to take the rows over.
    expect(foreign.message).toContain(`${ROWS} undelivered`);
    expect(foreign.message).toContain(meterAccount({ apiKey: KEY_A }));
    expect(foreign.message).toContain(`account: '${meterAccount({ apiKey: KEY_A })}'`);
    expect(foreign.message).not.toContain('secret-of');

    // Nor with C's key: account B still holds only B's delta.
    expect(accountB.ledger().deltas).toHaveLength(1);

    // ---- service A again, its account back: every one of its rows, once ----
    await accountA.start();
    const meterA2 = meterOn(await stores[kind](name, errors), 'service-a', KEY_A, accountA, delivery);
    expect(await meterA2.flush({ timeoutMs: 30_000 })).toMatchObject({ delivered: ROWS, pending: 0, timedOut: false });
    await meterA2.close();
    const ledgerA = accountA.ledger();
    expect(duplicateReferenceIds(ledgerA)).toEqual([]);
    expect(ledgerA.deltas.map((d) => d.referenceId).sort()).toEqual(accepted.map((r) => r.referenceId).sort());
    expect(errors.filter((e) => e.code !== 'STORE_FOREIGN_ROWS')).toEqual([]);
  }, 120_000);
});
