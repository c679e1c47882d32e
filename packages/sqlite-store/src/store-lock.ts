import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { SqliteStoreError } from './errors.js';
import { storeError } from './open-database.js';
import { openConnection, sqliteErrorCode, type SqliteConnection } from './sqlite-driver.js';

/**
 * Who has a store open, as recorded in its `meta` table (see `StoreStatus.openBy`).
 *
 * @example
 * const owner = file.status().openBy; // { pid: 4127, host: 'api-7', since: 1764321243120, running: true }
 */
export interface StoreOwner {
  pid: number;
  host: string;
  /** Epoch ms when it opened the store. */
  since: number;
}

/**
 * One process per store file. The lock is an exclusive SQLite lock on the companion file
 * `<path>-lock`, held for as long as the store is open. `path` is the file's real path (see
 * `realStorePath`; a file with a second hard link is refused before), so every name of the file
 * leads to the same lock. It is an OS file lock, so the kernel drops it when the process dies,
 * SIGKILL included: a restart never finds a stale lock. Taking it writes nothing, so a restart on a
 * full disk still comes up and delivers what the file holds. Readers (the CLI's `status` and
 * `dead-letters list`) do not take it and work while the app runs.
 *
 * @example
 * const lock = StoreLock.acquire(path, 0, () => readOwner(path));
 * // ... the store is open ...
 * lock.release();
 */
export class StoreLock {
  private constructor(private readonly handle: SqliteConnection) {}

  /** The companion file that carries the lock. */
  static pathFor(storePath: string): string {
    return `${storePath}-lock`;
  }

  /**
   * Takes the lock, waiting up to `timeoutMs`; throws {@link SqliteStoreError} `STORE_LOCKED`
   * naming the owner when another process (or another store in this process) holds it.
   */
  static acquire(storePath: string, timeoutMs: number, owner: () => StoreOwner | undefined): StoreLock {
    let handle: SqliteConnection | undefined;
    try {
      handle = openConnection(StoreLock.pathFor(storePath), { busyTimeoutMs: timeoutMs });
      // In EXCLUSIVE locking mode a connection never gives back a lock it took: BEGIN EXCLUSIVE
      // takes the file lock, and the ROLLBACK leaves it held without writing a byte.
      handle.exec('PRAGMA locking_mode = EXCLUSIVE');
      handle.exec('BEGIN EXCLUSIVE; ROLLBACK;');
      return new StoreLock(handle);
    } catch (err) {
      handle?.close();
      const code = sqliteErrorCode(err);
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) throw lockedError(storePath, owner(), err);
      if (code.startsWith('SQLITE_CANTOPEN')) {
        throw new SqliteStoreError('STORE_UNWRITABLE', storePath, `cannot be created: files cannot be created in ${dirname(storePath)} (SQLite could not open ${StoreLock.pathFor(storePath)})`, { cause: err });
      }
      throw storeError(err, storePath, `cannot be locked (${StoreLock.pathFor(storePath)})`);
    }
  }

  /** Lets go of the lock. The `-lock` file stays: deleting it could let two processes lock two different files. */
  release(): void {
    this.handle.close();
  }
}

function lockedError(path: string, owner: StoreOwner | undefined, cause: unknown): SqliteStoreError {
  let who = 'another process';
  if (owner?.pid === process.pid && owner.host === hostname()) who = 'this process already (another createSqliteStore() on the same file: share one store and one Meter)';
  else if (owner) who = `process ${owner.pid} on ${owner.host} (since ${new Date(owner.since).toISOString()})`;
  return new SqliteStoreError(
    'STORE_LOCKED',
    path,
    `is open in ${who}. One store file serves one process at a time: give each process its own file (e.g. put the instance name in the path), or stop the other one first.`,
    { cause },
  );
}

/**
 * Reads the recorded owner of a store without taking any lock; undefined when none or unreadable.
 *
 * @example
 * readOwner('/var/lib/app/metering.db'); // { pid: 4127, host: 'api-7', since: 1764321243120 }
 */
export function readOwner(path: string): StoreOwner | undefined {
  let db: SqliteConnection | undefined;
  try {
    if (!existsSync(path)) return undefined;
    db = openConnection(path, { readOnly: true, busyTimeoutMs: 200 });
    const row = db.prepare("SELECT value FROM meta WHERE key = 'owner'").get() as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as StoreOwner) : undefined;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/**
 * The owner record of this process.
 *
 * @example
 * db.prepare("INSERT OR REPLACE INTO meta VALUES ('owner', ?)").run(JSON.stringify(currentOwner()));
 */
export function currentOwner(): StoreOwner {
  return { pid: process.pid, host: hostname(), since: Date.now() };
}
