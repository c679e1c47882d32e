import type { Pool } from 'pg';
import { messageOf, PostgresStoreError } from './errors.js';
import { inTransaction } from './in-transaction.js';
import { checkSchemaName } from './options.js';
import { tableNames, type TableNames } from './sql-names.js';

/**
 * The migrations, in order: migration `i` brings the schema to version `i + 1`. Never edit one
 * that has shipped; append a new one. Times are epoch milliseconds from the Meter's clock
 * (`due_at`, `accepted_at`), except leases, which use the database's clock so that instances with
 * skewed clocks agree on when a lease has expired. Names are quoted (`t.schema` is `"name"`).
 */
const MIGRATIONS: ReadonlyArray<(t: TableNames) => string> = [
  ({ schema: s }) => `
    CREATE TABLE ${s}.outbox (
      id                bigserial PRIMARY KEY,
      reference_id      text        NOT NULL,
      customer_id       text        NOT NULL,
      body              text        NOT NULL,
      bytes             integer     NOT NULL,
      first_accepted_at bigint      NOT NULL,
      accepted_at       bigint      NOT NULL,
      attempts          integer     NOT NULL DEFAULT 0,
      due_at            bigint      NOT NULL DEFAULT 0,
      lease_owner       text,
      lease_until       timestamptz
    );
    CREATE INDEX outbox_due ON ${s}.outbox (due_at, id);
    CREATE INDEX outbox_lease_owner ON ${s}.outbox (lease_owner) WHERE lease_owner IS NOT NULL;
    CREATE TABLE ${s}.dead_letters (
      id                bigint      PRIMARY KEY,
      reference_id      text        NOT NULL,
      customer_id       text        NOT NULL,
      body              text        NOT NULL,
      bytes             integer     NOT NULL,
      first_accepted_at bigint      NOT NULL,
      accepted_at       bigint      NOT NULL,
      attempts          integer     NOT NULL,
      reason            text        NOT NULL,
      error_code        text,
      error_status      integer,
      error_message     text        NOT NULL,
      failed_at         bigint      NOT NULL
    );
    CREATE INDEX dead_letters_by_reason ON ${s}.dead_letters (reason);`,
  // 2: every row is tied to the Meter that accepted it (its scope and account; NULL: written by
  // version 1, served by a Meter of the scope its referenceId starts with).
  (t) => `
    ALTER TABLE ${t.outbox} ADD COLUMN scope text, ADD COLUMN account text;
    ALTER TABLE ${t.deadLetters} ADD COLUMN scope text, ADD COLUMN account text;
    CREATE INDEX outbox_due_by_meter ON ${t.outbox} (scope, account, due_at, id);`,
];

/**
 * The schema version this package writes and reads.
 *
 * @example
 * (await readSchemaVersion(pool, 'pacspace_metering')) === SCHEMA_VERSION;
 */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The advisory lock key that serialises migrations of one schema across instances. */
const LOCK_NAMESPACE = 'pacspace-metering:migrate:';

/**
 * What {@link migrate} did.
 *
 * @example
 * const { from, to } = await migrate(pool);
 * if (from !== to) console.log(`outbox schema upgraded from ${from} to ${to}`);
 */
export interface MigrationResult {
  /** The version found (0: no outbox yet). */
  from: number;
  /** The version now (always {@link SCHEMA_VERSION}). */
  to: number;
}

/**
 * Creates the outbox tables, or upgrades them to {@link SCHEMA_VERSION}, in one transaction that
 * holds a transaction-level advisory lock on the schema: instances that start at the same time
 * wait for each other, and the later ones find the work done. Throws {@link PostgresStoreError}
 * `STORE_INCOMPATIBLE` when the schema was written by a newer version of this package, or
 * `STORE_UNAVAILABLE` when the database refuses (the message names what it said).
 *
 * @param pool - a pg Pool (or anything with `connect()`).
 * @param schema - the schema of the outbox tables; default `'pacspace_metering'`.
 *
 * @example
 * import pg from 'pg';
 * import { migrate } from '@pacspace-metering/postgres-store';
 *
 * await migrate(new pg.Pool({ connectionString: process.env.DATABASE_URL })); // e.g. in a deploy step
 */
export async function migrate(pool: Pick<Pool, 'connect'>, schema = 'pacspace_metering'): Promise<MigrationResult> {
  checkSchemaName(schema);
  const t = tableNames(schema);
  // Connected once the transaction's work starts: a failure before that is the connection's.
  let connected = false;
  try {
    return await inTransaction(pool, async (client) => {
      connected = true;
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [LOCK_NAMESPACE + schema]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${t.schema}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${t.schemaVersion} (version integer NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())`);
      const found = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${t.schemaVersion}`);
      const from = found.rows[0]?.version ?? 0;
      if (from > SCHEMA_VERSION) {
        throw new PostgresStoreError('STORE_INCOMPATIBLE', schema, `was written by a newer version of @pacspace-metering/postgres-store (schema ${from}; this version reads up to ${SCHEMA_VERSION}). Upgrade the package.`);
      }
      for (let version = from; version < SCHEMA_VERSION; version++) {
        await client.query(MIGRATIONS[version]!(t));
        await client.query(`INSERT INTO ${t.schemaVersion} (version) VALUES ($1)`, [version + 1]);
      }
      return { from, to: SCHEMA_VERSION };
    });
  } catch (error) {
    if (error instanceof PostgresStoreError) throw error;
    const what = connected ? 'the migration failed' : 'could not connect to the database';
    throw new PostgresStoreError('STORE_UNAVAILABLE', schema, `${what} (${messageOf(error)})`, { cause: error });
  }
}
