// The Postgres outbox against a real PostgreSQL 15: migrations that race, leases that two stores
// share with SKIP LOCKED, a dead instance's rows taken over once its lease expires, group commit,
// dead letters, and a Meter on the store delivering to the sandbox.
import { createMeter, type QueuedDelta } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox } from '@pacspace-metering/sandbox';
import { join } from 'node:path';
import pg from 'pg';
import { delta, noPause, PACKAGE_DIR, startChild, waitFor } from '../test-support/helpers.js';
import { startTestDatabase, type TestDatabase } from '../test-support/pg-cluster.js';
import { PostgresOutbox } from './outbox.js';
import { createPostgresStore, PostgresStore } from './postgres-store.js';
import { migrate, SCHEMA_VERSION } from './schema.js';
import { insertPrepared } from './transactional.js';

let db: TestDatabase;
let pool: pg.Pool;
const stores: PostgresStore[] = [];

beforeAll(async () => {
  db = await startTestDatabase('store');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
}, 120_000);
afterAll(async () => {
  for (const store of stores) await store.close();
  await pool.end();
  await db.stop();
});

async function store(options: Partial<ConstructorParameters<typeof PostgresStore>[0]> = {}): Promise<PostgresStore> {
  const created = await createPostgresStore({ connectionString: db.url, ...options });
  stores.push(created);
  return created;
}

/** Leases from the table until a lease comes back short, as the Meter's loop would. */
async function leaseAll(s: PostgresStore, maxCount: number): Promise<QueuedDelta[]> {
  const got: QueuedDelta[] = [];
  for (;;) {
    const batch = await s.leaseBatch(Date.now(), maxCount, 1_000_000, noPause);
    got.push(...batch);
    if (batch.length < maxCount) return got;
  }
}

async function outboxRows(schema = 'pacspace_metering'): Promise<number> {
  return Number((await pool.query(`SELECT count(*) AS n FROM ${schema}.outbox`)).rows[0].n);
}

describe('migrations', () => {
  it('eight instances starting at once create the schema once, and a later start finds it current', async () => {
    const pools = Array.from({ length: 8 }, () => new pg.Pool({ connectionString: db.url, max: 1 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, 'race_schema')));
      expect(results.filter((r) => r.from === 0)).toHaveLength(1);
      expect(results.every((r) => r.to === SCHEMA_VERSION)).toBe(true);
      const versions = await pool.query('SELECT version FROM race_schema.schema_version');
      expect(versions.rows).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
      expect(await migrate(pools[0]!, 'race_schema')).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('refuses a schema written by a newer version, naming it', async () => {
    await migrate(pool, 'future_schema');
    await pool.query('INSERT INTO future_schema.schema_version (version) VALUES (99)');
    await expect(createPostgresStore({ connectionString: db.url, schema: 'future_schema' })).rejects.toMatchObject({
      code: 'STORE_INCOMPATIBLE',
      message: expect.stringContaining('schema 99'),
    });
  });

  it('rejects a bad option naming it', () => {
    expect(() => new PostgresStore({ connectionString: db.url, schema: 'Bad-Name' })).toThrow(/schema/);
    expect(() => new PostgresStore({ connectionString: db.url, leaseMs: 5 })).toThrow(/leaseMs/);
    expect(() => new PostgresStore({} as never)).toThrow(/connectionString/);
  });
});

describe('schema names', () => {
  // Issue 20, item 13: reserved words passed validation, then failed at start with a syntax error
  // reported as STORE_UNAVAILABLE. Every statement quotes the schema now.
  it.each(['user', 'order'])('a reserved word (%s) works: migration, a Meter delivering through it, status and replay', async (schema) => {
    const sandbox = await startSandbox({ seed: 13 });
    try {
      const s = await store({ schema, pollIntervalMs: 10 });
      const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, store: s, scope: 'reserved', retryBaseDelayMs: 5, flushIntervalMs: 5 });
      const results = Array.from({ length: 20 }, (_, i) => meter.enqueue({ customerId: `cust_${i % 2}`, delta: -1, reason: 'api_request', requestId: `${schema}-${i}` }));
      expect(await Promise.all(results.map((r) => (r as { committed: Promise<boolean> }).committed))).toEqual(Array(20).fill(true));
      // With flushIntervalMs 5, some may be delivered before flush() starts: the ledger says how many.
      expect(await meter.flush({ timeoutMs: 10_000 })).toMatchObject({ pending: 0, timedOut: false });
      expect(sandbox.ledger().deltas).toHaveLength(20);
      expect(meter.stats().delivered).toBe(20);
      await meter.close(); // writes the settles behind
      expect(await outboxRows(`"${schema}"`)).toBe(0);
      const outbox = await PostgresOutbox.open({ connectionString: db.url, schema });
      try {
        expect(await outbox.status()).toMatchObject({ schema, pending: 0, deadLetters: { total: 0 } });
        expect(await outbox.replay()).toEqual({ replayed: [], skipped: [] });
      } finally {
        await outbox.close();
      }
    } finally {
      await sandbox.close();
    }
  });
});

describe('a balance gate in a fleet', () => {
  // The fleet query named the schema unquoted: a reserved word failed with a syntax error there.
  it('undeliveredByOthers nets the rows other instances hold, in a schema named by a reserved word too', async () => {
    for (const schema of ['fleet_gate', 'select']) {
      await migrate(pool, schema);
      const s = await store({ schema });
      await insertPrepared(pool, delta('fleet-gate', { body: JSON.stringify({ customerId: 'fleet-gate', delta: -3, reason: 'api_request', referenceId: 'x' }) }), { schema });
      await s.add(delta('fleet-gate')); // its own: counted by its own Meter, not here
      expect(await s.undeliveredByOthers('fleet-gate')).toBe(-3);
    }
  });
});

describe('leases', () => {
  it('two stores leasing at once split the rows: each row leased by exactly one', async () => {
    const schema = 'lease_split';
    await migrate(pool, schema);
    for (let i = 0; i < 300; i++) await insertPrepared(pool, delta(`c${i % 4}`), { schema });
    const a = await store({ schema, pollIntervalMs: 10 });
    const b = await store({ schema, pollIntervalMs: 10 });
    // Each first lease takes at most 28 of the 300 rows, so the other's, however late its query
    // runs, finds rows too: both get some whatever the scheduling. Then both drain at once.
    const firsts = await Promise.all([a.leaseBatch(Date.now(), 7, 1_000_000, noPause), b.leaseBatch(Date.now(), 7, 1_000_000, noPause)]);
    const rests = await Promise.all([leaseAll(a, 7), leaseAll(b, 7)]);
    const [fromA, fromB] = [[...firsts[0], ...rests[0]], [...firsts[1], ...rests[1]]];
    const idsA = new Set(fromA.map((d) => d.referenceId));
    const idsB = new Set(fromB.map((d) => d.referenceId));
    expect(idsA.size + idsB.size).toBe(300);
    expect([...idsA].filter((id) => idsB.has(id))).toEqual([]);
    expect(fromA.length).toBeGreaterThan(0);
    expect(fromB.length).toBeGreaterThan(0);
    // Each row records who holds it.
    const owners = await pool.query(`SELECT lease_owner, count(*)::int AS n FROM ${schema}.outbox GROUP BY 1 ORDER BY 2`);
    expect(owners.rows.map((r) => r.lease_owner).sort()).toEqual([a.owner, b.owner].sort());
  });

  it("a live instance's rows are not taken; once it is killed they are, once, with their frozen bodies", async () => {
    const schema = 'pacspace_metering';
    const holder = startChild(join(PACKAGE_DIR, 'test-support', 'hold-store.mjs'), [db.url, '40', '1500']);
    try {
      const { owner, referenceIds } = await holder.nextLine();
      expect(referenceIds).toHaveLength(40);
      const survivor = await store({ schema, pollIntervalMs: 10, leaseMs: 1500 });
      // The holder renews its leases every 500 ms: once its first leases would have run out, every
      // row is still leased to it, and nothing is due for anyone else.
      const first = await pool.query(`SELECT min(lease_until) AS until FROM ${schema}.outbox WHERE reference_id = ANY($1)`, [referenceIds]);
      await waitFor('the holder renewed its leases past their first expiry', async () => {
        const held = await pool.query(`SELECT now() > $2 AS past, bool_and(lease_owner = $3 AND lease_until > now()) AS renewed FROM ${schema}.outbox WHERE reference_id = ANY($1)`, [referenceIds, first.rows[0].until, owner]);
        return held.rows[0].past === true && held.rows[0].renewed === true;
      });
      expect(await leaseAll(survivor, 100)).toEqual([]);
      holder.child.kill('SIGKILL');
      await holder.exited;
      const taken = (await waitFor('the dead instance\'s rows', async () => {
        const got = await leaseAll(survivor, 100);
        return got.length > 0 ? got : undefined;
      }))!;
      expect(taken.map((d) => d.referenceId).sort()).toEqual([...referenceIds].sort());
      for (const item of taken) expect(JSON.parse(item.body)).toMatchObject({ referenceId: item.referenceId, delta: -1 });
      const rows = await pool.query(`SELECT DISTINCT lease_owner FROM ${schema}.outbox WHERE reference_id = ANY($1)`, [referenceIds]);
      expect(rows.rows).toEqual([{ lease_owner: survivor.owner }]);
      expect(owner).not.toBe(survivor.owner);
      for (const item of taken) survivor.remove(item);
      await waitFor('the survivor settled them', async () => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.outbox WHERE reference_id = ANY($1)`, [referenceIds])).rows[0].n === 0);
    } finally {
      holder.child.kill('SIGKILL');
    }
  });
});

describe('takeover under load', () => {
  it("an instance busy with its own deltas still takes over a dead instance's rows at its next poll", async () => {
    const schema = 'pacspace_metering';
    const holder = startChild(join(PACKAGE_DIR, 'test-support', 'hold-store.mjs'), [db.url, '30', '1000']);
    let busy: PostgresStore | undefined;
    try {
      const { referenceIds } = await holder.nextLine();
      holder.child.kill('SIGKILL');
      await holder.exited;
      busy = await store({ schema, pollIntervalMs: 50, leaseMs: 1000 });
      const taken = new Set<string>();
      let ownSent = 0;
      // Every round, the instance has fresh deltas of its own due: its queue is never empty.
      await waitFor('the dead instance\'s rows, taken by a busy instance', async () => {
        await Promise.all(Array.from({ length: 5 }, () => busy!.add(delta('own'))));
        for (const item of await busy!.leaseBatch(Date.now(), 10, 1_000_000, noPause)) {
          if (referenceIds.includes(item.referenceId)) taken.add(item.referenceId);
          else ownSent++;
          busy!.remove(item);
        }
        return taken.size === referenceIds.length;
      });
      expect(ownSent).toBeGreaterThan(0);
      expect([...taken].sort()).toEqual([...referenceIds].sort());
    } finally {
      holder.child.kill('SIGKILL');
    }
  });
});

describe('write-behind', () => {
  it('adds of one tick are committed together; each promise resolves once its row is committed', async () => {
    const schema = 'group_commit';
    // The store's own pool, with its INSERTs counted.
    const counted = new pg.Pool({ connectionString: db.url, max: 2 });
    let inserts = 0;
    const query = counted.query.bind(counted) as (...args: unknown[]) => unknown;
    (counted as unknown as { query: unknown }).query = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith(`INSERT INTO "${schema}".outbox`)) inserts++;
      return query(...args);
    };
    const s = await store({ schema, pool: counted, connectionString: undefined });
    try {
      const written = Array.from({ length: 500 }, (_, i) => s.add(delta(`g${i % 3}`)));
      expect(s.pendingWrites()).toBe(500);
      await Promise.all(written);
      expect(s.pendingWrites()).toBe(0);
      expect(inserts).toBe(1);
      expect(await outboxRows(schema)).toBe(500);
      // Its own deltas are served from memory, leased by this instance in the table.
      const leased = await s.leaseBatch(Date.now(), 1000, 10_000_000, noPause);
      expect(Array.isArray(leased) && leased.length).toBe(500);
      expect((await pool.query(`SELECT DISTINCT lease_owner FROM ${schema}.outbox`)).rows).toEqual([{ lease_owner: s.owner }]);
      for (const item of leased as QueuedDelta[]) s.remove(item);
      await s.close();
      expect(await outboxRows(schema)).toBe(0);
    } finally {
      await counted.end();
    }
  });

  it('refuses an add when the buffer is full, and a failed insert rejects its promise (still delivered from memory)', async () => {
    const s = await store({ schema: 'bounded', maxPendingWrites: 3, onError: () => undefined });
    const ok = [s.add(delta('b')), s.add(delta('b')), s.add(delta('b'))];
    expect(() => s.add(delta('b'))).toThrow(/maxPendingWrites 3/);
    await Promise.all(ok);
    await pool.query('ALTER TABLE bounded.outbox ADD CONSTRAINT no_more CHECK (customer_id <> \'refused\')');
    const item = delta('refused');
    await expect(s.add(item)).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
    expect(s.list()).toContain(item);
  });
});

describe('dead letters', () => {
  it('are kept with their reason and error, listed, and replayed to any instance', async () => {
    const schema = 'letters';
    const s = await store({ schema, pollIntervalMs: 10 });
    const item = delta('dl');
    await s.add(item);
    const [leased] = (await s.leaseBatch(Date.now(), 10, 1_000_000, noPause)) as QueuedDelta[];
    expect(leased).toBe(item);
    s.deadLetter(item, 'rejected', Object.assign(new Error('customerId is unknown'), { code: 'VALIDATION_ERROR', status: 400 }));
    await s.close();
    const outbox = await PostgresOutbox.open({ connectionString: db.url, schema });
    try {
      expect(await outbox.status()).toMatchObject({ pending: 0, deadLetters: { total: 1, byReason: { rejected: 1 } } });
      const [letter] = await outbox.deadLetters();
      expect(letter).toMatchObject({ referenceId: item.referenceId, reason: 'rejected', error: { code: 'VALIDATION_ERROR', status: 400, message: 'customerId is unknown' }, body: item.body });
      expect((await outbox.replay()).replayed).toHaveLength(1);
      expect(await outbox.status()).toMatchObject({ pending: 1, unleased: 1, deadLetters: { total: 0 } });
    } finally {
      await outbox.close();
    }
    const other = await store({ schema, pollIntervalMs: 10 });
    const again = await leaseAll(other, 10);
    expect(again.map((d) => [d.referenceId, d.body, d.attempts])).toEqual([[item.referenceId, item.body, 0]]);
  });
});

describe('the table is the queue, rows belong to a Meter', () => {
  const meterA = { scope: 'test', account: 'key:aaaaaaaaaaaaaaaa', maxCount: 4, maxBytes: 1_000_000 };

  it('beyond the memory window a delta is inserted unleased, durably, and leased as room frees', async () => {
    const schema = 'memory_window';
    const s = await store({ schema, pollIntervalMs: 60_000 });
    s.attach(meterA);
    const added = Array.from({ length: 10 }, (_, i) => delta(`w${i}`));
    await Promise.all(added.map((item) => s.add(item)));
    expect({ count: s.count(), backlog: s.backlog() }).toEqual({ count: 4, backlog: 6 });
    expect((await pool.query(`SELECT count(*) FILTER (WHERE lease_owner IS NULL) AS unleased, count(*) AS n FROM ${schema}.outbox`)).rows[0]).toEqual({ unleased: '6', n: '10' });
    const sent: string[] = [];
    for (let guard = 0; guard < 50 && sent.length < 10; guard++) {
      const batch = await s.leaseBatch(Date.now(), 2, 1_000_000, noPause);
      for (const item of batch) {
        sent.push(item.referenceId);
        s.remove(item);
      }
      expect(s.count()).toBeLessThanOrEqual(4);
    }
    expect(sent.sort()).toEqual(added.map((d) => d.referenceId).sort());
    // The last lease was full, so there might be more: the next one finds none and says so.
    expect(await s.leaseBatch(Date.now(), 2, 1_000_000, noPause)).toEqual([]);
    expect(s.backlog()).toBe(0);
  });

  it('leases only its own rows; reports rows of its scope from another account; counts its due rows for a flush', async () => {
    const schema = 'owners';
    const a = await store({ schema });
    a.attach(meterA);
    await Promise.all([delta('o1'), delta('o2')].map((item) => a.add(item)));
    await a.close(); // hands them back, unleased
    const errors: Error[] = [];
    const b = await store({ schema, pollIntervalMs: 10, onError: (e) => void errors.push(e) });
    b.attach({ ...meterA, account: 'key:bbbbbbbbbbbbbbbb' });
    await waitFor('the other account reported', () => errors.length > 0);
    expect(errors).toMatchObject([{ code: 'STORE_FOREIGN_ROWS', message: expect.stringContaining("account: 'key:aaaaaaaaaaaaaaaa'") }]);
    await b.refreshBacklog();
    expect(b.backlog()).toBe(0);
    expect(await leaseAll(b, 10)).toEqual([]);
    const c = await store({ schema, pollIntervalMs: 10 });
    c.attach(meterA);
    await c.refreshBacklog();
    expect(c.backlog()).toBe(2);
    expect((await leaseAll(c, 10)).map((d) => d.customerId).sort()).toEqual(['o1', 'o2']);
  });

  it('upgrades schema 1; its rows go to the Meter of the scope their referenceId starts with', async () => {
    const schema = 'upgrade';
    await migrate(pool, schema);
    // What version 1 wrote: no owner columns, no schema 2.
    await pool.query(`ALTER TABLE ${schema}.outbox DROP COLUMN scope, DROP COLUMN account; ALTER TABLE ${schema}.dead_letters DROP COLUMN scope, DROP COLUMN account; DELETE FROM ${schema}.schema_version WHERE version = 2`);
    const legacy = delta('legacy');
    const other = delta('other', { referenceId: 'another-service:api_request:other:1' });
    for (const item of [legacy, other]) {
      await pool.query(`INSERT INTO ${schema}.outbox (reference_id, customer_id, body, bytes, first_accepted_at, accepted_at) VALUES ($1, $2, $3, $4, 0, 0)`, [item.referenceId, item.customerId, item.body, item.bytes]);
    }
    const s = await store({ schema, pollIntervalMs: 10 });
    s.attach(meterA);
    expect((await leaseAll(s, 10)).map((d) => d.referenceId)).toEqual([legacy.referenceId]);
  });
});

describe('a Meter on the store', () => {
  it('delivers every delta once through a faulty sandbox and leaves the outbox empty', async () => {
    const sandbox = await startSandbox({ seed: 15, faults: { serverError: { rate: 0.1, statuses: [503] }, commitThenDrop: { rate: 0.1 } } });
    try {
      const s = await store({ schema: 'meter_e2e' });
      const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, store: s, scope: 'pg', retryBaseDelayMs: 5, flushIntervalMs: 5 });
      const results = Array.from({ length: 400 }, (_, i) => meter.enqueue({ customerId: `cust_${i % 4}`, delta: -1, reason: 'api_request', requestId: `r-${i}` }));
      expect(results.every((r) => r.accepted && r.committed instanceof Promise)).toBe(true);
      expect(await Promise.all(results.map((r) => (r as { committed: Promise<boolean> }).committed))).toEqual(Array(400).fill(true));
      const report = await meter.close({ timeoutMs: 30_000 });
      expect(report).toMatchObject({ delivered: 400, failed: 0, dropped: 0, pending: 0, timedOut: false });
      const ledger = sandbox.ledger();
      expect(ledger.deltas).toHaveLength(400);
      expect(duplicateReferenceIds(ledger)).toEqual([]);
      expect(await outboxRows('meter_e2e')).toBe(0);
    } finally {
      await sandbox.close();
    }
  });

  it('reports a delta it could not make durable through the Meter (onError), answers committed false, and still delivers it', async () => {
    const sandbox = await startSandbox({ seed: 16 });
    try {
      const storeErrors: Error[] = [];
      const s = await store({ schema: 'not_durable', onError: (e) => storeErrors.push(e) });
      await pool.query("ALTER TABLE not_durable.outbox ADD CONSTRAINT refuse_one CHECK (customer_id <> 'cust_refused')");
      const meterErrors: Array<{ error: Error; stage: unknown }> = [];
      const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, store: s, scope: 'pg', flushIntervalMs: 5, onError: (error, context) => meterErrors.push({ error, stage: context.stage }), logger: { debug() {}, info() {}, warn() {}, error() {} } });
      const refused = meter.enqueue({ customerId: 'cust_refused', delta: -1, reason: 'api_request', requestId: 'x' });
      const fine = meter.enqueue({ customerId: 'cust_ok', delta: -1, reason: 'api_request', requestId: 'y' });
      expect(await (refused as { committed: Promise<boolean> }).committed).toBe(false);
      expect(await (fine as { committed: Promise<boolean> }).committed).toBe(true);
      expect(meterErrors).toEqual([{ error: expect.objectContaining({ code: 'STORE_WRITE_FAILED' }), stage: 'intake' }]);
      const report = await meter.close({ timeoutMs: 30_000 });
      expect(report).toMatchObject({ delivered: 2, pending: 0 });
      expect(sandbox.ledger().deltas.map((d) => d.customerId).sort()).toEqual(['cust_ok', 'cust_refused']);
      expect(storeErrors).toEqual([]);
    } finally {
      await sandbox.close();
    }
  });
});
