import { closeSync, mkdirSync, openSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { delta, tempDir } from '../test-support/helpers.js';
import { SqliteStoreError } from './errors.js';
import { createSqliteStore } from './sqlite-store.js';
import { SqliteOutbox } from './outbox.js';
import { openConnection } from './sqlite-driver.js';

/** Everything that makes a store unusable fails when it is created, with a message naming the file. */
describe('a store that cannot work fails at start-up, naming the path', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  function openError(path: string, open: (path: string) => unknown = (p) => createSqliteStore({ path: p })): SqliteStoreError {
    try {
      open(path);
    } catch (err) {
      expect(err).toBeInstanceOf(SqliteStoreError);
      expect((err as SqliteStoreError).path).toBe(path);
      expect((err as Error).message).toContain(path);
      return err as SqliteStoreError;
    }
    throw new Error(`opening ${path} did not fail`);
  }

  describe('corrupted', () => {
    it('a file that is not a SQLite database', () => {
      const path = tmp.file('garbage.db');
      writeFileSync(path, 'these bytes were never a database '.repeat(200));
      const err = openError(path);
      expect(err.code).toBe('STORE_CORRUPT');
      expect(err.message).toMatch(/is not a SQLite database, or is damaged/);
    });

    it('a store whose pages were damaged', () => {
      const path = tmp.file('damaged.db');
      const store = createSqliteStore({ path });
      for (let i = 0; i < 100; i++) store.add(delta('acme'));
      store.close();
      // Overwrite the header of the second page (the outbox table's root).
      const fd = openSync(path, 'r+');
      writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, 4096);
      closeSync(fd);
      const err = openError(path);
      expect(err.code).toBe('STORE_CORRUPT');
      expect(err.message).toMatch(/is damaged \(SQLite quick_check: .+\)/);
    });

    it('a truncated store', () => {
      const path = tmp.file('truncated.db');
      const store = createSqliteStore({ path });
      for (let i = 0; i < 300; i++) store.add(delta('acme'));
      store.close();
      truncateSync(path, statSync(path).size / 2 + 100);
      expect(openError(path).code).toBe('STORE_CORRUPT');
    });

    it('the CLI reader refuses it the same way', () => {
      const path = tmp.file('garbage-for-cli.db');
      writeFileSync(path, 'not a database either '.repeat(200));
      expect(openError(path, (p) => SqliteOutbox.open(p)).code).toBe('STORE_CORRUPT');
    });
  });

  describe('unwritable', () => {
    it('a directory that does not exist', () => {
      const path = join(tmp.dir, 'no-such-dir', 'metering.db');
      const err = openError(path);
      expect(err.code).toBe('STORE_UNWRITABLE');
      expect(err.message).toContain(`the directory ${join(tmp.dir, 'no-such-dir')} does not exist`);
    });

    it('a "directory" that is a file', () => {
      const file = tmp.file('plain-file');
      writeFileSync(file, 'x');
      const path = join(file, 'metering.db');
      const err = openError(path);
      expect(err.code).toBe('STORE_UNWRITABLE');
      expect(err.message).toContain(`${file} is not a directory`);
    });

    it('a path that is a directory', () => {
      const path = join(tmp.dir, 'a-directory.db');
      mkdirSync(path);
      const err = openError(path);
      expect(err.code).toBe('STORE_UNWRITABLE');
      expect(err.message).toMatch(/is a directory/);
    });

    it('a path on a read-only file system', () => {
      // /proc is read-only for everyone, root included.
      const err = openError('/proc/pacspace-metering.db');
      expect(err.code).toBe('STORE_UNWRITABLE');
      expect(err.message).toContain('cannot be created: files cannot be created in /proc');
    });
  });

  describe('not a store', () => {
    it("another application's SQLite database", () => {
      const path = tmp.file('someone-else.db');
      const db = openConnection(path, { busyTimeoutMs: 0 });
      db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)');
      db.close();
      const err = openError(path);
      expect(err.code).toBe('STORE_INCOMPATIBLE');
      expect(err.message).toMatch(/not a pacspace-metering store .*tables: users/);
    });

    it('a store written by a newer version', () => {
      const path = tmp.file('newer.db');
      createSqliteStore({ path }).close();
      const db = openConnection(path, { busyTimeoutMs: 0 });
      db.exec('PRAGMA user_version = 99');
      db.close();
      const err = openError(path);
      expect(err.code).toBe('STORE_INCOMPATIBLE');
      expect(err.message).toMatch(/newer version .*schema 99/);
    });

    it('the CLI reader does not create a missing file', () => {
      const path = tmp.file('missing.db');
      expect(openError(path, (p) => SqliteOutbox.open(p)).code).toBe('STORE_NOT_FOUND');
    });
  });
});
