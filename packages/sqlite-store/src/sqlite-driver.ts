import { MeteringError } from '@pacspace-metering/core';

// The store runs on Node's built-in `node:sqlite` (Node 22.13+ and 24+): nothing to compile or
// install. This module is the narrow connection the store, the lock and the CLI use on top of it.

/**
 * A prepared statement. Parameters are positional (`?`).
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
 * A connection to a SQLite file (what the store, the lock and the CLI use).
 *
 * @example
 * const db = openConnection('/tmp/m.db', { busyTimeoutMs: 2000 });
 * db.pragma('journal_mode = WAL'); // 'wal'
 * db.close();
 */
export interface SqliteConnection {
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
 * openConnection(path, { busyTimeoutMs: 200, readOnly: true });
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

/**
 * Node's `node:sqlite` module. Throws {@link MeteringError} `UNSUPPORTED_RUNTIME` naming this
 * Node.js and the versions that have it (Node 20 has none; 22.5-22.12 only behind
 * `--experimental-sqlite`; `--no-experimental-sqlite` turns it off in any version).
 *
 * @example
 * const { DatabaseSync } = loadNodeSqlite();
 */
export function loadNodeSqlite(): NodeSqliteModule {
  let sqlite: NodeSqliteModule | undefined;
  try {
    sqlite = process.getBuiltinModule?.('node:sqlite') as NodeSqliteModule | undefined;
  } catch {
    // Not there: same answer as undefined.
  }
  if (sqlite !== undefined) return sqlite;
  throw new MeteringError(
    'UNSUPPORTED_RUNTIME',
    `@pacspace-metering/sqlite-store needs node:sqlite, which Node.js ${process.version} does not provide: it is built into Node.js 22.13+ and 24+ (unless turned off with --no-experimental-sqlite). Upgrade Node.js.`,
  );
}

/**
 * Opens `path` and sets its busy timeout. Throws what `node:sqlite` throws (read its code with
 * {@link sqliteErrorCode}), or {@link loadNodeSqlite}'s error on a Node.js without it.
 *
 * @example
 * const db = openConnection('/var/lib/app/metering.db', { busyTimeoutMs: 2000 });
 */
export function openConnection(path: string, options: OpenConnectionOptions): SqliteConnection {
  const connection = openNodeSqlite(path, options);
  try {
    connection.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  } catch (err) {
    connection.close();
    throw err;
  }
  return connection;
}

function openNodeSqlite(path: string, options: OpenConnectionOptions): SqliteConnection {
  const db = new (loadNodeSqlite().DatabaseSync)(path, options.readOnly ? { readOnly: true } : {});
  let open = true;
  // Prepared once: a transaction per accepted delta should not parse BEGIN and COMMIT each time.
  let control: { begin: { run(): unknown }; commit: { run(): unknown }; rollback: { run(): unknown } } | undefined;
  const statements = () => (control ??= { begin: db.prepare('BEGIN'), commit: db.prepare('COMMIT'), rollback: db.prepare('ROLLBACK') });
  const connection: SqliteConnection = {
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

function firstColumn(row: unknown): unknown {
  if (row === undefined || row === null) return undefined;
  return Object.values(row as Record<string, unknown>)[0];
}

/** SQLite's primary result codes by number, by their C names. */
const PRIMARY_CODES: Record<number, string> = {
  1: 'SQLITE_ERROR', 3: 'SQLITE_PERM', 5: 'SQLITE_BUSY', 6: 'SQLITE_LOCKED', 7: 'SQLITE_NOMEM', 8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR', 11: 'SQLITE_CORRUPT', 13: 'SQLITE_FULL', 14: 'SQLITE_CANTOPEN', 19: 'SQLITE_CONSTRAINT', 26: 'SQLITE_NOTADB',
};

/**
 * The primary SQLite result code of an error, as a name (`SQLITE_BUSY`, `SQLITE_CORRUPT`,
 * `SQLITE_FULL`, ...), or '' when it is not a SQLite error. node:sqlite puts `ERR_SQLITE_ERROR` in
 * `code` and the (extended) number in `errcode`.
 *
 * @example
 * try { db.exec('BEGIN EXCLUSIVE'); } catch (err) { if (sqliteErrorCode(err) === 'SQLITE_BUSY') wait(); }
 */
export function sqliteErrorCode(err: unknown): string {
  const e = err as { errcode?: unknown } | undefined;
  if (typeof e?.errcode === 'number') return PRIMARY_CODES[e.errcode & 0xff] ?? `SQLITE_${e.errcode}`;
  return '';
}
