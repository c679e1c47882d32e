import { MeteringError } from '@pacspace-metering/core';

/**
 * What went wrong with a store file, as a stable `code` on {@link SqliteStoreError}.
 *
 * @example
 * if ((err as SqliteStoreError).code === 'STORE_CORRUPT') moveAside(path);
 */
export type SqliteStoreErrorCode =
  /** The file (or its directory) cannot be created, opened or written. */
  | 'STORE_UNWRITABLE'
  /** `SqliteOutbox.open` (the CLI) was pointed at a file that does not exist, or at an empty database no Meter has used yet. */
  | 'STORE_NOT_FOUND'
  /**
   * Not a SQLite database, or a database whose pages are damaged; while running, an outbox row whose
   * body is not its delta (moved to the dead letters with reason `corrupt`, never sent).
   */
  | 'STORE_CORRUPT'
  /** A SQLite database, but not one this package created (or one from a newer version). */
  | 'STORE_INCOMPATIBLE'
  /** Another process (or another store in this process) has the file open. */
  | 'STORE_LOCKED'
  /** The file has more than one hard link: a second name would bypass its lock and its WAL. */
  | 'STORE_LINKED'
  /** A write failed while running (disk full, I/O error): a new delta is refused, one already accepted stays in memory. */
  | 'STORE_WRITE_FAILED'
  /** A read failed while running (I/O error): the deltas in memory are still delivered; the rows in the file are read again a second later. */
  | 'STORE_UNAVAILABLE'
  /** The file holds undelivered deltas another Meter (another scope or API key) accepted: this one does not deliver them. */
  | 'STORE_FOREIGN_ROWS';

/**
 * An error about a store file. The message always names the file; `path` holds it too.
 *
 * @example
 * try {
 *   createSqliteStore({ path: '/var/lib/app/metering.db' });
 * } catch (err) {
 *   if (err instanceof SqliteStoreError && err.code === 'STORE_LOCKED') console.error(err.message);
 *   throw err;
 * }
 */
export class SqliteStoreError extends MeteringError {
  /** The store file the error is about (absolute). */
  readonly path: string;

  constructor(code: SqliteStoreErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(code, `pacspace-metering store ${path}: ${message}`, options);
    this.path = path;
  }
}
