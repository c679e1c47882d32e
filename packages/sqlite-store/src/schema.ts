import { SqliteStoreError } from './errors.js';
import type { SqliteConnection } from './sqlite-driver.js';

/**
 * `PRAGMA application_id` of every store file ('PSMT'), so a foreign database is never mistaken for one.
 *
 * @example
 * db.pragma('application_id') === APPLICATION_ID;
 */
export const APPLICATION_ID = 0x50534d54;
/**
 * `outbox`: accepted deltas not yet delivered, one row each, with the frozen body and key as they
 * were accepted. `dead_letters`: deltas the meter gave up on, with why and the last error. A row
 * keeps its id when it moves between the two tables. `meta`: who has the file open. This is
 * version 1; {@link MIGRATIONS} bring it up to date.
 */
const SCHEMA = `
CREATE TABLE outbox (
  id                INTEGER PRIMARY KEY,
  reference_id      TEXT    NOT NULL,
  customer_id       TEXT    NOT NULL,
  body              TEXT    NOT NULL,
  bytes             INTEGER NOT NULL,
  first_accepted_at INTEGER NOT NULL,
  accepted_at       INTEGER NOT NULL,
  attempts          INTEGER NOT NULL,
  due_at            INTEGER NOT NULL
) STRICT;
CREATE TABLE dead_letters (
  id                INTEGER PRIMARY KEY,
  reference_id      TEXT    NOT NULL,
  customer_id       TEXT    NOT NULL,
  body              TEXT    NOT NULL,
  bytes             INTEGER NOT NULL,
  first_accepted_at INTEGER NOT NULL,
  accepted_at       INTEGER NOT NULL,
  attempts          INTEGER NOT NULL,
  reason            TEXT    NOT NULL,
  error_code        TEXT,
  error_status      INTEGER,
  error_message     TEXT    NOT NULL,
  failed_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX dead_letters_by_reason ON dead_letters (reason);
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
PRAGMA application_id = ${APPLICATION_ID};
PRAGMA user_version = 1;
`;

/**
 * Migration `i` brings a file from version `i + 1` to `i + 2`. Never edit one that has shipped.
 * 2: every row records the Meter that accepted it (its scope and account; NULL in rows written by
 * version 1, which the first Meter whose scope starts their referenceId adopts).
 */
const MIGRATIONS: readonly string[] = [
  `ALTER TABLE outbox ADD COLUMN scope TEXT;
   ALTER TABLE outbox ADD COLUMN account TEXT;
   ALTER TABLE dead_letters ADD COLUMN scope TEXT;
   ALTER TABLE dead_letters ADD COLUMN account TEXT;`,
];

/**
 * `PRAGMA user_version`: the schema this version writes and reads.
 *
 * @example
 * db.pragma('user_version') <= SCHEMA_VERSION;
 */
export const SCHEMA_VERSION = 1 + MIGRATIONS.length;

/**
 * Creates the schema in an empty database, or checks that a non-empty one is a store this version
 * can read and brings an older one up to date. Throws {@link SqliteStoreError}
 * (`STORE_INCOMPATIBLE`) naming what it found otherwise.
 *
 * @example
 * ensureSchema(db, path, true); // creates the tables in an empty file, checks a non-empty one
 */
export function ensureSchema(db: SqliteConnection, path: string, create: boolean): void {
  const applicationId = db.pragma('application_id') as number;
  const version = db.pragma('user_version') as number;
  const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
  if (applicationId === 0 && version === 0 && tables.length === 0) {
    if (!create) throw new SqliteStoreError('STORE_NOT_FOUND', path, 'is an empty database: no Meter has used it as a store yet');
    db.transaction(() => db.exec(SCHEMA))();
    return migrate(db, 1);
  }
  if (applicationId !== APPLICATION_ID) {
    const found = tables.length ? `tables: ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', ...' : ''}` : 'no tables';
    throw new SqliteStoreError('STORE_INCOMPATIBLE', path, `is a SQLite database, but not a pacspace-metering store (application_id ${applicationId}, ${found}). Point the store at a file of its own.`);
  }
  if (version > SCHEMA_VERSION) {
    throw new SqliteStoreError('STORE_INCOMPATIBLE', path, `was written by a newer version of @pacspace-metering/sqlite-store (schema ${version}; this version reads up to ${SCHEMA_VERSION}). Upgrade the package.`);
  }
  if (version < 1) throw new SqliteStoreError('STORE_CORRUPT', path, `has the store's application_id but no schema version (user_version ${version})`);
  migrate(db, version);
}

/** Applies the migrations after `version`, each in a transaction with its new version number. */
function migrate(db: SqliteConnection, version: number): void {
  for (let from = version; from < SCHEMA_VERSION; from++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[from - 1]!);
      db.exec(`PRAGMA user_version = ${from + 1}`);
    })();
  }
}
