import { MeteringConfigError } from '@pacspace-metering/core';
import { requireOptional } from './require-optional.cjs';

/**
 * The SQLite bindings a store can run on: Node's built-in `node:sqlite` (Node 22.13+, 23.4+, 24;
 * nothing to compile) or the `better-sqlite3` package (any supported Node, a native build).
 *
 * @example
 * createSqliteStore({ path: './metering.db', driver: 'better-sqlite3' });
 */
export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';

/**
 * Every driver name, in the order `'auto'` tries them.
 *
 * @example
 * SQLITE_DRIVER_NAMES.includes('node:sqlite'); // true
 */
export const SQLITE_DRIVER_NAMES: ReadonlyArray<SqliteDriverName> = Object.freeze(['node:sqlite', 'better-sqlite3']);

/**
 * A prepared statement, the part both drivers share. Parameters are positional (`?`).
 *
 * @example
 * db.prepare('SELECT count(*) AS n FROM outbox').get(); // { n: 3 }
 */
export interface SqliteStatement {
  /** Runs it for its effect. */
  run(...params: unknown[]): void;
  /** The first row, or undefined. */
  get(...params: unknown[]): unknown;
  /** Every row. */
  all(...params: unknown[]): unknown[];
}

/**
 * A connection, the part both drivers share (what the store, the lock and the CLI use).
 *
 * @example
 * const db = openConnection('/tmp/m.db', resolveDriver('auto'), { busyTimeoutMs: 2000 });
 * db.pragma('journal_mode = WAL'); // 'wal'
 * db.close();
 */
export interface SqliteConnection {
  /** Which driver it runs on. */
  readonly driver: SqliteDriverName;
  /** False once closed. */
  readonly isOpen: boolean;
  /** Runs one or more statements without results. */
  exec(sql: string): void;
  /** Prepares one statement. */
  prepare(sql: string): SqliteStatement;
  /** `PRAGMA <sql>` and the first column of its first row (undefined when none). */
  pragma(sql: string): unknown;
  /** `PRAGMA <sql>` and every row. */
  pragmaRows(sql: string): Array<Record<string, unknown>>;
  /** Wraps `fn` in BEGIN / COMMIT; a throw rolls back and is rethrown. Not reentrant. */
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  /** Closes it; idempotent. */
  close(): void;
}

/**
 * How {@link openConnection} opens a file.
 *
 * @example
 * openConnection(path, 'node:sqlite', { busyTimeoutMs: 200, readOnly: true });
 */
export interface OpenConnectionOptions {
  /** How long a statement waits for another connection's lock (`PRAGMA busy_timeout`). */
  busyTimeoutMs: number;
  /** Open read-only (the file must exist). @default false */
  readOnly?: boolean;
}

interface NodeSqliteModule {
  DatabaseSync: new (path: string, options?: { readOnly?: boolean }) => {
    exec(sql: string): void;
    prepare(sql: string): { run(...p: unknown[]): unknown; get(...p: unknown[]): unknown; all(...p: unknown[]): unknown[] };
    close(): void;
  };
}

interface BetterSqlite3Database {
  open: boolean;
  exec(sql: string): unknown;
  prepare(sql: string): { run(...p: unknown[]): unknown; get(...p: unknown[]): unknown; all(...p: unknown[]): unknown[] };
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F;
  close(): unknown;
}
type BetterSqlite3Constructor = new (path: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => BetterSqlite3Database;

/**
 * `node:sqlite` when this Node.js has it unflagged (22.13+, 23.4+, 24+), else undefined. Node 20
 * has no such module; 22.5-22.12 have it only behind `--experimental-sqlite`.
 */
function nodeSqlite(): NodeSqliteModule | undefined {
  try {
    return process.getBuiltinModule?.('node:sqlite') as NodeSqliteModule | undefined;
  } catch {
    return undefined;
  }
}

let betterSqlite3: { value: BetterSqlite3Constructor } | { error: unknown } | undefined;
function loadBetterSqlite3(): BetterSqlite3Constructor {
  betterSqlite3 ??= (() => {
    try {
      const BetterSqlite3 = requireOptional('better-sqlite3') as BetterSqlite3Constructor;
      // Its native part loads with the first database: open one now, so a build for another
      // Node.js fails here with a clear message rather than at some later open.
      new BetterSqlite3(':memory:').close();
      return { value: BetterSqlite3 };
    } catch (error) {
      return { error };
    }
  })();
  if ('error' in betterSqlite3) throw betterSqlite3.error;
  return betterSqlite3.value;
}

/**
 * The driver to use: the one asked for, checked to be there, or with `'auto'` (the default)
 * `node:sqlite` where Node has it and `better-sqlite3` otherwise. Throws `MeteringConfigError`
 * naming `driver` and what to install or upgrade when the one needed is missing.
 *
 * @param requested - `'auto'` (default), `'node:sqlite'` or `'better-sqlite3'`.
 * @example
 * resolveDriver(); // 'node:sqlite' on Node 24, 'better-sqlite3' on Node 20
 */
export function resolveDriver(requested: SqliteDriverName | 'auto' = 'auto'): SqliteDriverName {
  if (requested !== 'auto' && !SQLITE_DRIVER_NAMES.includes(requested)) {
    throw new MeteringConfigError('driver', `must be 'auto', 'node:sqlite' or 'better-sqlite3' (got ${JSON.stringify(requested)})`);
  }
  if (requested !== 'better-sqlite3' && nodeSqlite() !== undefined) return 'node:sqlite';
  if (requested === 'node:sqlite') {
    throw new MeteringConfigError('driver', `'node:sqlite' is not available in Node.js ${process.version}: it needs Node 22.13+, 23.4+ or 24 (22.5-22.12 only with --experimental-sqlite). Upgrade Node, or install better-sqlite3 (npm install better-sqlite3@12) and use driver: 'better-sqlite3'`);
  }
  try {
    loadBetterSqlite3();
  } catch (cause) {
    const missing = (cause as { code?: unknown }).code === 'MODULE_NOT_FOUND';
    const message = (cause as { message?: unknown } | undefined)?.message;
    const detail = (typeof message === 'string' ? message : String(cause)).replace(/\s+/g, ' ');
    const why = missing ? 'is not installed' : `cannot be loaded (${detail})`;
    const fix = missing ? 'Install it: npm install better-sqlite3@12' : 'Rebuild it for this Node.js: npm rebuild better-sqlite3';
    const hint = requested === 'auto'
      ? `Node.js ${process.version} has no node:sqlite (it needs 22.13+, 23.4+ or 24; 22.5-22.12 with --experimental-sqlite), so the store needs the better-sqlite3 package, which ${why}. ${fix}, or run on Node 22.13+ / 24`
      : `'better-sqlite3' was asked for, but the package ${why}. ${fix}`;
    throw new MeteringConfigError('driver', hint);
  }
  return 'better-sqlite3';
}

/**
 * Opens `path` on `driver` (from {@link resolveDriver}) and sets its busy timeout. Throws what
 * the driver throws (read its code with {@link sqliteErrorCode}).
 *
 * @example
 * const db = openConnection('/var/lib/app/metering.db', resolveDriver(), { busyTimeoutMs: 2000 });
 */
export function openConnection(path: string, driver: SqliteDriverName, options: OpenConnectionOptions): SqliteConnection {
  const connection = driver === 'node:sqlite' ? openNodeSqlite(path, options) : openBetterSqlite3(path, options);
  try {
    connection.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  } catch (err) {
    connection.close();
    throw err;
  }
  return connection;
}

function openNodeSqlite(path: string, options: OpenConnectionOptions): SqliteConnection {
  const sqlite = nodeSqlite();
  if (sqlite === undefined) throw new MeteringConfigError('driver', `'node:sqlite' is not available in Node.js ${process.version}`);
  const db = new sqlite.DatabaseSync(path, options.readOnly ? { readOnly: true } : {});
  let open = true;
  // Prepared once: a transaction per accepted delta should not parse BEGIN and COMMIT each time.
  let control: { begin: { run(): unknown }; commit: { run(): unknown }; rollback: { run(): unknown } } | undefined;
  const statements = () => (control ??= { begin: db.prepare('BEGIN'), commit: db.prepare('COMMIT'), rollback: db.prepare('ROLLBACK') });
  const connection: SqliteConnection = {
    driver: 'node:sqlite',
    get isOpen() {
      return open;
    },
    exec: (sql) => db.exec(sql),
    prepare: (sql) => {
      const statement = db.prepare(sql);
      return {
        run: (...params) => void statement.run(...params),
        get: (...params) => statement.get(...params),
        all: (...params) => statement.all(...params),
      };
    },
    pragma: (sql) => firstColumn(db.prepare(`PRAGMA ${sql}`).get()),
    pragmaRows: (sql) => db.prepare(`PRAGMA ${sql}`).all() as Array<Record<string, unknown>>,
    transaction: (fn) => (...args) => {
      const { begin, commit, rollback } = statements();
      begin.run();
      try {
        fn(...args);
        commit.run();
      } catch (err) {
        try {
          rollback.run();
        } catch {
          // SQLite rolled back already (a failed COMMIT on a full disk can); nothing is left open.
        }
        throw err;
      }
    },
    close: () => {
      if (!open) return;
      open = false;
      db.close();
    },
  };
  return connection;
}

function openBetterSqlite3(path: string, options: OpenConnectionOptions): SqliteConnection {
  const BetterSqlite3 = loadBetterSqlite3();
  const db = new BetterSqlite3(path, options.readOnly ? { readonly: true, fileMustExist: true } : {});
  return {
    driver: 'better-sqlite3',
    get isOpen() {
      return db.open;
    },
    exec: (sql) => void db.exec(sql),
    prepare: (sql) => {
      const statement = db.prepare(sql);
      return {
        run: (...params) => void statement.run(...params),
        get: (...params) => statement.get(...params),
        all: (...params) => statement.all(...params),
      };
    },
    pragma: (sql) => db.pragma(sql, { simple: true }),
    pragmaRows: (sql) => db.pragma(sql) as Array<Record<string, unknown>>,
    transaction: (fn) => db.transaction(fn),
    close: () => {
      if (db.open) db.close();
    },
  };
}

function firstColumn(row: unknown): unknown {
  if (row === undefined || row === null) return undefined;
  return Object.values(row as Record<string, unknown>)[0];
}

/** SQLite's primary result codes by number, as better-sqlite3 names them. */
const PRIMARY_CODES: Record<number, string> = {
  1: 'SQLITE_ERROR', 3: 'SQLITE_PERM', 5: 'SQLITE_BUSY', 6: 'SQLITE_LOCKED', 7: 'SQLITE_NOMEM', 8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR', 11: 'SQLITE_CORRUPT', 13: 'SQLITE_FULL', 14: 'SQLITE_CANTOPEN', 19: 'SQLITE_CONSTRAINT', 26: 'SQLITE_NOTADB',
};

/**
 * The SQLite result code of an error from either driver, as a name (`SQLITE_BUSY`,
 * `SQLITE_CORRUPT`, `SQLITE_FULL`, ...), or '' when it is not a SQLite error. better-sqlite3 puts
 * the (extended) name in `code`; node:sqlite puts `ERR_SQLITE_ERROR` there and the number in `errcode`.
 *
 * @example
 * try { db.exec('BEGIN EXCLUSIVE'); } catch (err) { if (sqliteErrorCode(err) === 'SQLITE_BUSY') wait(); }
 */
export function sqliteErrorCode(err: unknown): string {
  const e = err as { code?: unknown; errcode?: unknown } | undefined;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_')) return e.code;
  if (typeof e?.errcode === 'number') return PRIMARY_CODES[e.errcode & 0xff] ?? `SQLITE_${e.errcode}`;
  return '';
}
