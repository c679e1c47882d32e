import { MeteringError } from '@pacspace-metering/core';

/**
 * What went wrong with the Postgres outbox, as a stable `code` on {@link PostgresStoreError}.
 *
 * @example
 * if ((err as PostgresStoreError).code === 'STORE_INCOMPATIBLE') console.error('upgrade the package');
 */
export type PostgresStoreErrorCode =
  /** The database could not be reached, or a read (a lease, a count) failed: the deltas in memory are still delivered, the table is read again at the next poll. */
  | 'STORE_UNAVAILABLE'
  /** `PostgresOutbox.open` (the CLI) found no outbox in that schema: no Meter has used it yet. */
  | 'STORE_NOT_FOUND'
  /** The outbox schema was written by a newer version of this package, or is not this package's. */
  | 'STORE_INCOMPATIBLE'
  /** A write failed while running (connection lost, database down); the deltas concerned stay in memory. */
  | 'STORE_WRITE_FAILED'
  /** An outbox row whose body is not its delta: moved to the dead letters (reason `corrupt`), never sent. */
  | 'STORE_CORRUPT'
  /** Another instance took over rows this one still held (its lease expired: the event loop or the database stalled). */
  | 'STORE_LEASE_LOST'
  /** The outbox holds undelivered rows of this Meter's scope that another account (API key) accepted: this Meter does not deliver them. */
  | 'STORE_FOREIGN_ROWS';

/**
 * An error about the Postgres outbox. The message names the schema (`schema` holds it too).
 *
 * @example
 * try {
 *   await createPostgresStore({ connectionString: process.env.DATABASE_URL });
 * } catch (err) {
 *   if (err instanceof PostgresStoreError && err.code === 'STORE_UNAVAILABLE') console.error(err.message);
 *   throw err;
 * }
 */
export class PostgresStoreError extends MeteringError {
  /** The Postgres schema of the outbox tables. */
  readonly schema: string;

  constructor(code: PostgresStoreErrorCode, schema: string, message: string, options?: { cause?: unknown }) {
    super(code, `pacspace-metering postgres outbox "${schema}": ${message}`, options);
    this.schema = schema;
  }
}

/**
 * The message of whatever was thrown.
 *
 * @example
 * messageOf(new Error('connection refused')); // 'connection refused'
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
