import { accessSync, constants, lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SqliteStoreError, type SqliteStoreErrorCode } from './errors.js';
import { ensureSchema } from './schema.js';
import { openConnection, sqliteErrorCode, type SqliteConnection } from './sqlite-driver.js';

/**
 * How {@link openStoreDatabase} opens a file.
 *
 * @example
 * openStoreDatabase(path, { create: true, synchronous: 'normal', checkIntegrity: true });
 */
export interface OpenDatabaseOptions {
  /** Create the file and its schema when missing (a store), or require an existing store (the CLI). */
  create: boolean;
  /** `synchronous` pragma. */
  synchronous: 'normal' | 'full';
  /** Run `PRAGMA quick_check`. */
  checkIntegrity: boolean;
}

/** How long a statement waits for another connection's write lock (a CLI replay) before failing. */
const BUSY_TIMEOUT_MS = 2000;

/**
 * The store file's real path: absolute, with every symbolic link resolved (in the path and the
 * file itself). Everything keyed by the path (the `-lock`, `-wal` and `-shm` files) must be keyed
 * by the file, or a second name for it would get a lock of its own. Throws
 * {@link SqliteStoreError} naming the path for a symbolic link to a file that does not exist.
 *
 * @example
 * realStorePath('./data/metering.db'); // '/srv/app/data/metering.db', or where ./data links to
 */
export function realStorePath(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    // No such file yet: resolve the directory, the file will be created in it.
  }
  let dangling = false;
  try {
    dangling = lstatSync(absolute).isSymbolicLink();
  } catch {
    // Nothing there at all.
  }
  if (dangling) throw new SqliteStoreError('STORE_UNWRITABLE', absolute, 'is a symbolic link to a file that does not exist; point the store at the real file, or create it first');
  try {
    return join(realpathSync(dirname(absolute)), basename(absolute));
  } catch {
    return absolute; // checkStorePath says what is wrong with the directory
  }
}

/**
 * Checks, before SQLite is involved, the things that make the clearest messages: the directory
 * exists and is writable, the path is not a directory, an existing file is readable and writable
 * and has one name only. Throws {@link SqliteStoreError} naming the path.
 *
 * @example
 * checkStorePath('/no/such/dir/m.db', true); // throws STORE_UNWRITABLE: ... the directory /no/such/dir does not exist
 */
export function checkStorePath(path: string, create: boolean): void {
  const dir = dirname(path);
  const fail = (code: SqliteStoreErrorCode, message: string, cause?: unknown) => new SqliteStoreError(code, path, message, { cause });
  const file = statOrUndefined(path);
  if (file === undefined && !create) throw fail('STORE_NOT_FOUND', 'no such file');
  if (file?.isDirectory()) throw fail('STORE_UNWRITABLE', 'is a directory; give the path of a file inside it');
  if (file !== undefined && file.nlink > 1) {
    throw fail(
      'STORE_LINKED',
      `has ${file.nlink} hard links. SQLite keeps the WAL and the lock next to the name a file is opened by, so two names would let two processes (or one after the other) use one database with two WALs, losing or corrupting accepted deltas. Keep one name (remove the other links; copy the file for a backup).`,
    );
  }
  const parent = statOrUndefined(dir);
  if (parent === undefined) throw fail('STORE_UNWRITABLE', `cannot be created: the directory ${dir} does not exist`);
  if (!parent.isDirectory()) throw fail('STORE_UNWRITABLE', `cannot be created: ${dir} is not a directory`);
  try {
    // SQLite writes its -wal, -shm and -lock files next to the store, so the directory must be writable too.
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (cause) {
    throw fail('STORE_UNWRITABLE', `cannot be written: no permission to create files in ${dir}`, cause);
  }
  if (file !== undefined) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch (cause) {
      throw fail('STORE_UNWRITABLE', 'cannot be written: no permission to read and write the file', cause);
    }
  }
}

/**
 * Opens a store file in WAL mode with the given `synchronous` level, creates or checks its schema,
 * and optionally checks its pages. Every failure is a {@link SqliteStoreError} whose message names
 * the path and says what is wrong: not writable, not a database, damaged, not a store.
 *
 * @example
 * const db = openStoreDatabase('/var/lib/app/metering.db', { create: false, synchronous: 'full', checkIntegrity: true });
 */
export function openStoreDatabase(path: string, options: OpenDatabaseOptions): SqliteConnection {
  checkStorePath(path, options.create);
  let db: SqliteConnection | undefined;
  try {
    // checkStorePath has refused a missing file when !create, so opening never creates one then.
    db = openConnection(path, { busyTimeoutMs: BUSY_TIMEOUT_MS });
    const mode = db.pragma('journal_mode = WAL');
    if (mode !== 'wal') throw new SqliteStoreError('STORE_UNWRITABLE', path, `cannot use WAL mode on this file system (journal_mode stayed ${String(mode)})`);
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    ensureSchema(db, path, options.create);
    if (options.checkIntegrity) checkIntegrity(db, path);
    return db;
  } catch (err) {
    db?.close();
    throw storeError(err, path);
  }
}

function checkIntegrity(db: SqliteConnection, path: string): void {
  const problems = db.pragmaRows('quick_check(3)')
    .flatMap((row) => String(row['quick_check']).split('\n'))
    .filter((line) => line !== '' && !line.startsWith('***'));
  if (problems.length === 1 && problems[0] === 'ok') return;
  throw new SqliteStoreError('STORE_CORRUPT', path, `is damaged (SQLite quick_check: ${problems.slice(0, 3).join('; ')}). Move it aside and start with a new file; the sqlite3 shell's .recover can salvage its rows.`);
}

/**
 * Turns an error from SQLite (or the file system) into a {@link SqliteStoreError} naming the path.
 *
 * @example
 * try { db.exec(sql); } catch (err) { throw storeError(err, path); }
 */
export function storeError(err: unknown, path: string, during = 'cannot be opened'): SqliteStoreError {
  if (err instanceof SqliteStoreError) return err;
  const code = sqliteErrorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new SqliteStoreError('STORE_CORRUPT', path, `is not a SQLite database, or is damaged (SQLite: ${detail}). Move it aside and start with a new file.`, { cause: err });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SqliteStoreError('STORE_LOCKED', path, `is locked by another connection (SQLite: ${detail})`, { cause: err });
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    return new SqliteStoreError('STORE_UNWRITABLE', path, `${during}: it cannot be written (SQLite: ${detail})`, { cause: err });
  }
  return new SqliteStoreError('STORE_UNWRITABLE', path, `${during} (${detail})`, { cause: err });
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
