import { assertKnownOptions, MeteringConfigError } from '@pacspace-metering/core';
import type { Pool } from 'pg';
import type { PostgresStoreError } from './errors.js';

/**
 * Options of {@link createPostgresStore}. Give either `connectionString` or `pool`.
 *
 * @example
 * createPostgresStore({ connectionString: process.env.DATABASE_URL });
 * // Your own pool (shared with the app), tables in their own schema, faster takeover of dead instances:
 * createPostgresStore({ pool, schema: 'billing_outbox', leaseMs: 10_000 });
 */
export interface PostgresStoreOptions {
  /**
   * A PostgreSQL connection URL (`postgres://user:pass@host:5432/db`). The store then owns its pool
   * (at most `poolSize` connections; connecting times out after 5 s, a statement after 10 s) and
   * ends it on `close()`.
   */
  connectionString?: string | undefined;
  /**
   * A `pg` Pool of your own. The store does not end it on `close()`. Give it a
   * `connectionTimeoutMillis` and a `statement_timeout`: a write that hangs holds the answers
   * that wait for it.
   */
  pool?: Pool | undefined;
  /**
   * The Postgres schema that holds the outbox tables (`outbox`, `dead_letters`, `schema_version`).
   * Created when missing. Lower-case letters, digits and `_`, starting with a letter or `_`.
   *
   * @default 'pacspace_metering'
   */
  schema?: string | undefined;
  /**
   * How long a lease on a row lasts without renewal, in milliseconds. A live instance renews its
   * leases every `leaseMs / 3`; the rows of an instance that died become deliverable by the others
   * this long after its last renewal. Shorter: faster takeover; too short for a stalled event loop
   * and two instances may send the same row at once (PacSpace still counts it once, by its referenceId).
   *
   * @default 30000
   */
  leaseMs?: number | undefined;
  /**
   * How often an instance with nothing of its own to send looks for rows it did not accept (left
   * by a dead instance, replayed dead letters, deltas enqueued in a transaction), in milliseconds.
   *
   * @default 500
   */
  pollIntervalMs?: number | undefined;
  /**
   * Delivered, rescheduled and dead-lettered rows are written behind, together, at most this long
   * later (milliseconds). A crash in that window loses no delta: a delivered row is sent again with
   * its key and PacSpace answers with a replay.
   *
   * @default 10
   */
  settleDelayMs?: number | undefined;
  /**
   * The bound of the write-behind buffer: rows waiting to be written. When it is full, `add`
   * throws and the Meter refuses the delta as `store_failed` (counted and reported) rather than
   * hold more than this in memory while the database does not answer.
   *
   * @default 10000
   */
  maxPendingWrites?: number | undefined;
  /**
   * Connections of the pool the store creates from `connectionString`.
   *
   * @default 4
   */
  poolSize?: number | undefined;
  /**
   * Called with what goes wrong while running, each with the same code as in the SQLite store: a
   * write that fails (`STORE_WRITE_FAILED`: database down, connection lost; deltas stay in memory
   * and are still delivered while the process lives, only their durability is lost), a lease or
   * renewal that fails (`STORE_UNAVAILABLE`), a lease taken over (`STORE_LEASE_LOST`), a row whose
   * body is not its delta (`STORE_CORRUPT`), rows of another account (`STORE_FOREIGN_ROWS`).
   *
   * @default a process warning (`process.emitWarning`), at most one a minute
   */
  onError?: ((error: PostgresStoreError) => void) | undefined;
}

/**
 * Every option name of {@link PostgresStoreOptions}, so typos in JavaScript callers are caught.
 *
 * @example
 * POSTGRES_STORE_OPTION_NAMES.includes('leaseMs'); // true
 */
export const POSTGRES_STORE_OPTION_NAMES: ReadonlyArray<keyof PostgresStoreOptions> = Object.freeze([
  'connectionString', 'pool', 'schema', 'leaseMs', 'pollIntervalMs', 'settleDelayMs', 'maxPendingWrites', 'poolSize', 'onError',
] satisfies Array<keyof PostgresStoreOptions>);

/**
 * {@link PostgresStoreOptions} checked, with every default applied (internal).
 *
 * @example
 * const { schema, leaseMs } = resolvePostgresStoreOptions({ connectionString });
 */
export interface ResolvedPostgresStoreOptions {
  connectionString: string | undefined;
  pool: Pool | undefined;
  schema: string;
  leaseMs: number;
  pollIntervalMs: number;
  settleDelayMs: number;
  maxPendingWrites: number;
  poolSize: number;
  onError: ((error: PostgresStoreError) => void) | undefined;
}

/** A schema name that needs no quoting and cannot inject SQL. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Checks a schema name; throws `MeteringConfigError` naming `schema` otherwise.
 *
 * @example
 * checkSchemaName('pacspace_metering'); // 'pacspace_metering'
 */
export function checkSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new MeteringConfigError('schema', `must be 1-63 lower-case letters, digits or _, starting with a letter or _ (got ${JSON.stringify(schema)})`);
  }
  return schema;
}

/**
 * Checks options and applies defaults; throws `MeteringConfigError` naming the bad option.
 *
 * @example
 * resolvePostgresStoreOptions({ connectionString: 'postgres://localhost/app' }).leaseMs; // 30000
 */
export function resolvePostgresStoreOptions(options: PostgresStoreOptions): ResolvedPostgresStoreOptions {
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object with { connectionString } or { pool }');
  assertKnownOptions(options, POSTGRES_STORE_OPTION_NAMES, '');
  const { connectionString, pool, schema = 'pacspace_metering', leaseMs = 30_000, pollIntervalMs = 500, settleDelayMs = 10, maxPendingWrites = 10_000, poolSize = 4, onError } = options;
  if ((connectionString === undefined) === (pool === undefined)) {
    throw new MeteringConfigError('connectionString', 'give exactly one of connectionString (a postgres:// URL) or pool (a pg Pool)');
  }
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString.trim() === '')) {
    throw new MeteringConfigError('connectionString', `must be a postgres:// URL (got ${JSON.stringify(connectionString)})`);
  }
  if (pool !== undefined && (pool === null || typeof (pool as Pool).connect !== 'function' || typeof (pool as Pool).query !== 'function')) {
    throw new MeteringConfigError('pool', 'must be a pg Pool (new Pool(...) from the pg package)');
  }
  checkSchemaName(schema);
  integer('leaseMs', leaseMs, 1_000, 3_600_000);
  integer('pollIntervalMs', pollIntervalMs, 10, 600_000);
  integer('settleDelayMs', settleDelayMs, 0, 1_000);
  integer('maxPendingWrites', maxPendingWrites, 1, 10_000_000);
  integer('poolSize', poolSize, 1, 100);
  if (onError !== undefined && typeof onError !== 'function') throw new MeteringConfigError('onError', 'must be a function');
  return { connectionString, pool, schema, leaseMs, pollIntervalMs, settleDelayMs, maxPendingWrites, poolSize, onError };
}

function integer(name: string, value: unknown, min: number, max: number): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new MeteringConfigError(name, `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
}
