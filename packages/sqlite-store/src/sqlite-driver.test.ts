import { MeteringConfigError } from '@pacspace-metering/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from './sqlite-store.js';
import { resolveDriver, sqliteErrorCode, SQLITE_DRIVER_NAMES, type SqliteDriverName } from './sqlite-driver.js';
import { StoreFile } from './store-file.js';
import { delta } from '../test-support/helpers.js';

const hasNodeSqlite = process.getBuiltinModule?.('node:sqlite') !== undefined;
let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sqlite-driver-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The drivers this Node.js can run: node:sqlite where built in, better-sqlite3 where its native build loads. */
function available(): SqliteDriverName[] {
  return SQLITE_DRIVER_NAMES.filter((name) => {
    try {
      return resolveDriver(name) === name;
    } catch {
      return false;
    }
  });
}

describe('sqlite-store drivers', () => {
  it("'auto' takes node:sqlite where Node has it, better-sqlite3 otherwise", () => {
    const store = createSqliteStore({ path: join(dir, 'auto.db') });
    expect(store.driver).toBe(hasNodeSqlite ? 'node:sqlite' : 'better-sqlite3');
    store.close();
  });

  it('at least one driver runs on this Node.js, and each one that does keeps deltas across a reopen', () => {
    const drivers = available();
    expect(drivers.length).toBeGreaterThan(0);
    for (const driver of drivers) {
      const path = join(dir, `${driver.replace(':', '-')}.db`);
      const first = createSqliteStore({ path, driver });
      expect(first.driver).toBe(driver);
      first.add(delta('acme', { referenceId: `ref-${driver}` }));
      first.close();
      const again = createSqliteStore({ path, driver });
      expect(again.list().map((item) => item.referenceId)).toEqual([`ref-${driver}`]);
      again.close();
      const file = StoreFile.open(path, { driver });
      expect(file.status().pending).toBe(1);
      file.close();
    }
  });

  it('a forced driver that this Node.js cannot run is refused with an error naming driver and the fix', () => {
    const missing = SQLITE_DRIVER_NAMES.filter((name) => !available().includes(name));
    // Node 20 has no node:sqlite; on 22/24 the workspace's better-sqlite3 is built for Node 20's ABI.
    if (!hasNodeSqlite) expect(missing).toContain('node:sqlite');
    for (const driver of missing) {
      let thrown: unknown;
      try {
        createSqliteStore({ path: join(dir, 'forced.db'), driver });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(MeteringConfigError);
      expect((thrown as MeteringConfigError).option).toBe('driver');
      expect((thrown as Error).message).toMatch(driver === 'node:sqlite' ? /needs Node 22\.13\+.*install better-sqlite3/ : /better-sqlite3.*(not installed|npm rebuild better-sqlite3)/);
    }
  });

  it('an unknown driver name is refused naming the allowed ones', () => {
    expect(() => createSqliteStore({ path: join(dir, 'x.db'), driver: 'sqlite3' as never })).toThrow(/driver: must be 'auto', 'node:sqlite' or 'better-sqlite3' \(got "sqlite3"\)/);
  });

  it("reads SQLite's result code from either driver's error shape", () => {
    expect(sqliteErrorCode(Object.assign(new Error('locked'), { code: 'SQLITE_BUSY' }))).toBe('SQLITE_BUSY');
    expect(sqliteErrorCode(Object.assign(new Error('database disk image is malformed'), { code: 'ERR_SQLITE_ERROR', errcode: 11 }))).toBe('SQLITE_CORRUPT');
    expect(sqliteErrorCode(Object.assign(new Error('disk I/O error'), { code: 'ERR_SQLITE_ERROR', errcode: 778 }))).toBe('SQLITE_IOERR');
    expect(sqliteErrorCode(new Error('not sqlite'))).toBe('');
  });
});
