import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteStore } from './sqlite-store.js';
import { openConnection, sqliteErrorCode } from './sqlite-driver.js';
import { SqliteOutbox } from './outbox.js';
import { delta } from '../test-support/helpers.js';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sqlite-driver-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `source` on this Node.js with node:sqlite turned off (as on a Node.js that has none); its stdout. */
function withoutNodeSqlite(inputType: 'module' | 'commonjs', source: string): string {
  const run = spawnSync(process.execPath, ['--no-experimental-sqlite', `--input-type=${inputType}`, '-e', source], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  return run.stdout.trim();
}

describe('sqlite-store on node:sqlite', () => {
  it("keeps deltas across a reopen on Node's built-in node:sqlite, nothing else installed", () => {
    const path = join(dir, 'm.db');
    const first = createSqliteStore({ path });
    first.add(delta('acme', { referenceId: 'ref-1' }));
    first.close();
    const again = createSqliteStore({ path });
    expect(again.list().map((item) => item.referenceId)).toEqual(['ref-1']);
    again.close();
    const file = SqliteOutbox.open(path);
    expect(file.status().pending).toBe(1);
    file.close();
  });

  it.each([
    ['module', `import { createSqliteStore, SqliteOutbox } from ${JSON.stringify(join(DIST, 'esm', 'index.js'))};`],
    ['commonjs', `const { createSqliteStore, SqliteOutbox } = require(${JSON.stringify(join(DIST, 'cjs', 'index.js'))});`],
  ] as const)(
    'on a Node.js without node:sqlite, the %s build refuses to open (store and CLI file) with UNSUPPORTED_RUNTIME naming the version and the fix, and writes nothing',
    (inputType, load) => {
      const attempt = (call: string) => `try { ${call}; console.log('opened'); } catch (e) { console.log(JSON.stringify([e.name, e.code, e.message])); }`;
      const out = withoutNodeSqlite(inputType, `${load}\n${attempt("createSqliteStore({ path: 'm.db' })")}\n${attempt("SqliteOutbox.open('m.db')")}`);
      const message = `@pacspace-metering/sqlite-store needs node:sqlite, which Node.js ${process.version} does not provide: it is built into Node.js 22.13+ and 24+ (unless turned off with --no-experimental-sqlite). Upgrade Node.js.`;
      expect(out.split('\n').map((line) => JSON.parse(line))).toEqual([
        ['MeteringError', 'UNSUPPORTED_RUNTIME', message],
        ['MeteringError', 'UNSUPPORTED_RUNTIME', message],
      ]);
      expect(readdirSync(dir)).toEqual([]);
    },
  );

  it("reads SQLite's result code from node:sqlite's errors", () => {
    const db = openConnection(join(dir, 'codes.db'), { busyTimeoutMs: 0 });
    let thrown: unknown;
    try {
      db.exec('SELEKT 1');
    } catch (err) {
      thrown = err;
    }
    db.close();
    expect(sqliteErrorCode(thrown)).toBe('SQLITE_ERROR');
    expect(sqliteErrorCode(Object.assign(new Error('database disk image is malformed'), { code: 'ERR_SQLITE_ERROR', errcode: 11 }))).toBe('SQLITE_CORRUPT');
    expect(sqliteErrorCode(Object.assign(new Error('disk I/O error'), { code: 'ERR_SQLITE_ERROR', errcode: 778 }))).toBe('SQLITE_IOERR');
    expect(sqliteErrorCode(new Error('not sqlite'))).toBe('');
  });
});
