import { assertKnownOptions, MeteringConfigError } from '@pacspace-metering/core';
import type { SqliteStoreError } from './errors.js';

/**
 * Options of {@link createSqliteStore}. Only `path` is required.
 *
 * @example
 * // Power-loss safe, at the cost of an fsync per accepted delta:
 * createSqliteStore({ path: '/var/lib/my-api/metering.db', synchronous: 'full' });
 * // Cheapest: group commit, a process crash can lose the last 5 ms of accepted deltas:
 * createSqliteStore({ path: './metering.db', commitWindowMs: 5 });
 */
export interface SqliteStoreOptions {
  /**
   * The store file. Created (with its directory's permissions) when missing. SQLite keeps three
   * companion files next to it: `<path>-wal`, `<path>-shm` and `<path>-lock`; keep them together.
   */
  path: string;
  /**
   * How hard a commit waits for the disk (SQLite's `synchronous` pragma, in WAL mode).
   * - `'normal'` (default): a commit is written to the WAL before `add` returns, without fsync.
   *   Survives a process crash (SIGKILL, OOM kill, uncaught exception); an OS crash or power loss
   *   can roll back the writes since the last checkpoint (up to about 1,000 commits).
   * - `'full'`: each commit is fsynced. Survives power loss too; costs an fsync per commit,
   *   on the event loop (about 5x `'normal'` measured here, far more on network disks).
   *
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full' | undefined;
  /**
   * Group commit. `0` (default): every accepted delta is committed before `add` (and so
   * `meter.enqueue`) returns. `1`-`1000`: accepted deltas are collected and committed together at
   * most this many milliseconds later; a process crash loses the deltas of the last window.
   *
   * @default 0
   */
  commitWindowMs?: number | undefined;
  /**
   * How long opening waits for another process to let go of the file, in milliseconds. One file
   * serves one process at a time; raise this only for restarts that overlap (the old process still
   * closing while the new one starts). The wait blocks, so keep it short.
   *
   * @default 0
   */
  lockTimeoutMs?: number | undefined;
  /**
   * Runs SQLite's `quick_check` when opening, so a damaged file fails at start-up rather than
   * later. Its cost grows with the file (milliseconds for a typical outbox).
   *
   * @default true
   */
  checkIntegrity?: boolean | undefined;
  /**
   * Called with what goes wrong while running, each with the same code as in the Postgres store: a
   * write that fails (`STORE_WRITE_FAILED`: disk full, I/O error; a delta already accepted stays in
   * memory and is still delivered while the process lives, only its durability is lost), a read
   * that fails (`STORE_UNAVAILABLE`), a row whose body is not its delta (`STORE_CORRUPT`), rows of
   * another Meter (`STORE_FOREIGN_ROWS`).
   *
   * @default a process warning (`process.emitWarning`), at most one a minute
   */
  onError?: ((error: SqliteStoreError) => void) | undefined;
}

/**
 * Every option name of {@link SqliteStoreOptions}, so typos in JavaScript callers are caught.
 *
 * @example
 * SQLITE_STORE_OPTION_NAMES.includes('commitWindowMs'); // true
 */
export const SQLITE_STORE_OPTION_NAMES: ReadonlyArray<keyof SqliteStoreOptions> = Object.freeze([
  'path', 'synchronous', 'commitWindowMs', 'lockTimeoutMs', 'checkIntegrity', 'onError',
] satisfies Array<keyof SqliteStoreOptions>);

/**
 * {@link SqliteStoreOptions} with every default applied and every value checked (internal).
 *
 * @example
 * const { synchronous, commitWindowMs } = resolveSqliteStoreOptions({ path });
 */
export type ResolvedSqliteStoreOptions = Required<Omit<SqliteStoreOptions, 'onError'>> & Pick<SqliteStoreOptions, 'onError'>;

/**
 * Checks options and applies defaults; throws `MeteringConfigError` naming the bad option.
 *
 * @example
 * resolveSqliteStoreOptions({ path: 'm.db' }); // { path: 'm.db', synchronous: 'normal', commitWindowMs: 0, lockTimeoutMs: 0, checkIntegrity: true, onError: undefined }
 */
export function resolveSqliteStoreOptions(options: SqliteStoreOptions): ResolvedSqliteStoreOptions {
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object with at least { path }');
  assertKnownOptions(options, SQLITE_STORE_OPTION_NAMES, '');
  const { path, synchronous = 'normal', commitWindowMs = 0, lockTimeoutMs = 0, checkIntegrity = true, onError } = options;
  if (typeof path !== 'string' || path.trim() === '' || path === ':memory:' || path.startsWith('file:')) {
    throw new MeteringConfigError('path', `must be the path of a file on disk (got ${JSON.stringify(path)}); an in-memory database would not be durable`);
  }
  if (synchronous !== 'normal' && synchronous !== 'full') throw new MeteringConfigError('synchronous', `must be 'normal' or 'full' (got ${JSON.stringify(synchronous)})`);
  if (!Number.isInteger(commitWindowMs) || commitWindowMs < 0 || commitWindowMs > 1000) {
    throw new MeteringConfigError('commitWindowMs', `must be an integer from 0 to 1000 (got ${JSON.stringify(commitWindowMs)})`);
  }
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 0 || lockTimeoutMs > 600_000) {
    throw new MeteringConfigError('lockTimeoutMs', `must be an integer from 0 to 600000 (got ${JSON.stringify(lockTimeoutMs)})`);
  }
  if (typeof checkIntegrity !== 'boolean') throw new MeteringConfigError('checkIntegrity', `must be true or false (got ${JSON.stringify(checkIntegrity)})`);
  if (onError !== undefined && typeof onError !== 'function') throw new MeteringConfigError('onError', 'must be a function');
  return { path, synchronous, commitWindowMs, lockTimeoutMs, checkIntegrity, onError };
}
