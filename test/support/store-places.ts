// The two durable stores behind one interface, for the store contract suite: a fresh place (a
// SQLite file, a Postgres schema), stores opened on it as successive processes would, its outbox
// handle made asynchronous, and the faults the suite injects from outside (a raw row, a row
// removed behind the store's back, an outbox table moved away).
import type { DeadLetter, MeterStore, QueuedDelta, StoreAttachment } from '@pacspace-metering/core';
import { createPostgresStore, migrate, PostgresOutbox } from '@pacspace-metering/postgres-store';
import { createSqliteStore, SqliteOutbox, type SqliteOutboxStatus } from '@pacspace-metering/sqlite-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestDatabase, type TestDatabase } from '../../packages/postgres-store/test-support/pg-cluster.js';
import { openConnection } from '../../packages/sqlite-store/src/sqlite-driver.js';

/** A durable store as the suite drives it: the MeterStore contract with `attach`, `backlog` and `close`. */
export interface DurableStore extends MeterStore {
  attach(meter: StoreAttachment): void;
  backlog(): number;
  deadLetter(item: QueuedDelta, reason: string, error: Error): void;
  close(): void | Promise<void>;
}

/** The fields both outboxes' `status()` report with the same meaning (all but the SQLite file's own). */
export type CommonStatus = Omit<SqliteOutboxStatus, 'path' | 'openBy'>;

/** `SqliteOutbox` or `PostgresOutbox`, every method answering a Promise. */
export interface OutboxHandle {
  status(): Promise<CommonStatus>;
  deadLetters(filter?: { reason?: string; ids?: number[] }): Promise<DeadLetter[]>;
  replay(filter?: { reason?: string; ids?: number[] }, options?: { now?: number; allowExpiredKeys?: boolean }): Promise<{ replayed: DeadLetter[]; skipped: Array<{ letter: DeadLetter; why: string }> }>;
  close(): Promise<void>;
}

/** A row written by something other than the store (a damaged table, a foreign writer). */
export interface RawRow {
  referenceId: string;
  customerId: string;
  body: string;
  scope: string;
  account: string;
}

/** One SQLite file or one Postgres schema, fresh for a test. */
export interface StorePlace {
  /** A store on it, as a new process would open one; `onError` gets what it reports. */
  open(onError?: (error: Error) => void): Promise<DurableStore>;
  /** Its maintenance handle. */
  outbox(): Promise<OutboxHandle>;
  /** Inserts rows straight into the outbox table (no store may be open on the place). */
  insertRows(rows: RawRow[]): Promise<void>;
  /** Deletes a row behind the store's back (another process delivered it, an operator removed it). */
  deleteRow(referenceId: string): Promise<void>;
  /** Renames the outbox table away: every read and write of it fails until `heal()`. */
  breakTable(): Promise<{ heal(): Promise<void> }>;
}

/** One kind of durable store. */
export interface StoreKind {
  name: 'sqlite' | 'postgres';
  /** Starts what the kind needs (a Postgres cluster) once per suite. */
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  place(): Promise<StorePlace>;
  /** Opens the outbox handle where no Meter ever wrote (a file that is not there, a schema without the tables). */
  outboxOfNothing(): Promise<OutboxHandle>;
}

let places = 0;

/** SQLite: a file per place, in a temporary directory. */
export function sqliteKind(): StoreKind {
  let dir = '';
  const outboxOf = (path: string): OutboxHandle => {
    const outbox = SqliteOutbox.open(path);
    return {
      status: async () => outbox.status(),
      deadLetters: async (filter) => outbox.deadLetters(filter),
      replay: async (filter, options) => outbox.replay(filter, options),
      close: async () => outbox.close(),
    };
  };
  const sql = (path: string, text: string, ...params: unknown[]) => {
    const db = openConnection(path, { busyTimeoutMs: 2_000 });
    try {
      db.prepare(text).run(...params);
    } finally {
      db.close();
    }
  };
  return {
    name: 'sqlite',
    setUp: async () => {
      dir = mkdtempSync(join(tmpdir(), 'store-contract-'));
    },
    tearDown: async () => rmSync(dir, { recursive: true, force: true }),
    outboxOfNothing: async () => outboxOf(join(dir, 'never-written.db')),
    place: async () => {
      const path = join(dir, `place-${++places}.db`);
      createSqliteStore({ path }).close(); // the file and its schema
      return {
        open: async (onError) => createSqliteStore({ path, ...(onError ? { onError } : {}) }),
        outbox: async () => outboxOf(path),
        insertRows: async (rows) => {
          for (const row of rows) {
            sql(path, `INSERT INTO outbox (id, reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, attempts, due_at, scope, account)
              VALUES ((SELECT COALESCE(max(id), 0) + 1 FROM outbox), ?, ?, ?, ?, 0, 0, 0, 0, ?, ?)`, row.referenceId, row.customerId, row.body, Buffer.byteLength(row.body), row.scope, row.account);
          }
        },
        deleteRow: async (referenceId) => sql(path, 'DELETE FROM outbox WHERE reference_id = ?', referenceId),
        breakTable: async () => {
          sql(path, 'ALTER TABLE outbox RENAME TO outbox_away');
          return { heal: async () => sql(path, 'ALTER TABLE outbox_away RENAME TO outbox') };
        },
      };
    },
  };
}

/** Postgres: a schema per place, in one database of a cluster started for the suite. */
export function postgresKind(): StoreKind {
  let db: TestDatabase;
  let pool: pg.Pool;
  const outboxOf = async (schema: string): Promise<OutboxHandle> => {
    const outbox = await PostgresOutbox.open({ connectionString: db.url, schema });
    return outbox;
  };
  return {
    name: 'postgres',
    setUp: async () => {
      db = await startTestDatabase('contract');
      pool = new pg.Pool({ connectionString: db.url, max: 2 });
    },
    tearDown: async () => {
      await pool.end();
      await db.stop();
    },
    outboxOfNothing: () => outboxOf('never_written'),
    place: async () => {
      const schema = `place_${++places}`;
      await migrate(pool, schema);
      const table = `"${schema}".outbox`;
      return {
        open: (onError) => createPostgresStore({ connectionString: db.url, schema, pollIntervalMs: 10, poolSize: 2, ...(onError ? { onError } : {}) }),
        outbox: () => outboxOf(schema),
        insertRows: async (rows) => {
          for (const row of rows) {
            await pool.query(`INSERT INTO ${table} (reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, scope, account) VALUES ($1, $2, $3, $4, 0, 0, $5, $6)`,
              [row.referenceId, row.customerId, row.body, Buffer.byteLength(row.body), row.scope, row.account]);
          }
        },
        deleteRow: async (referenceId) => {
          await pool.query(`DELETE FROM ${table} WHERE reference_id = $1`, [referenceId]);
        },
        breakTable: async () => {
          await pool.query(`ALTER TABLE ${table} RENAME TO outbox_away`);
          return { heal: async () => void (await pool.query(`ALTER TABLE "${schema}".outbox_away RENAME TO outbox`)) };
        },
      };
    },
  };
}
