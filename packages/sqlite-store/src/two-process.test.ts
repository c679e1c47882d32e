import { linkSync, mkdirSync, symlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { holdStore, noPause, tempDir } from '../test-support/helpers.js';
import { SqliteStoreError } from './errors.js';
import { createSqliteStore } from './sqlite-store.js';
import { SqliteOutbox } from './outbox.js';

/**
 * One store file serves one process at a time: a second opener is refused with STORE_LOCKED, naming
 * the holder. Readers (SqliteOutbox, what the CLI uses) work meanwhile. The lock dies with its process, SIGKILL included,
 * and the next opener finds everything the dead one had accepted, in flight or not, due again.
 */
describe('two processes on one store file', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  function lockedError(open: () => unknown): SqliteStoreError {
    try {
      open();
    } catch (err) {
      expect(err).toBeInstanceOf(SqliteStoreError);
      expect((err as SqliteStoreError).code).toBe('STORE_LOCKED');
      return err as SqliteStoreError;
    }
    throw new Error('the second open was not refused');
  }

  it('refuses a second process naming the holder, lets readers in, and after a SIGKILL resumes what the dead one held', async () => {
    const path = tmp.file('shared.db');
    const holder = await holdStore(path, 6, 2);
    try {
      const err = lockedError(() => createSqliteStore({ path }));
      expect(err.message).toContain(path);
      expect(err.message).toContain(`is open in process ${holder.pid} on ${hostname()}`);
      expect(err.message).toMatch(/One store file serves one process at a time/);

      // The outbox handle (what the CLI uses) reads without the lock, while the holder runs.
      const reader = SqliteOutbox.open(path);
      try {
        expect(reader.status()).toMatchObject({ pending: 6, openBy: { pid: holder.pid, host: hostname(), running: true } });
      } finally {
        reader.close();
      }
    } finally {
      holder.child.kill('SIGKILL');
    }
    expect(await holder.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const file = SqliteOutbox.open(path);
    expect(file.status().openBy).toMatchObject({ pid: holder.pid, running: false });
    file.close();

    const store = createSqliteStore({ path });
    try {
      expect(store.count()).toBe(6);
      const now = Date.now();
      const resumed = [];
      for (let item = store.leaseBatch(now, 1, Infinity, noPause)[0]; item; item = store.leaseBatch(now, 1, Infinity, noPause)[0]) resumed.push({ referenceId: item.referenceId, body: item.body });
      // All six due at once, the two that were being sent among them, in acceptance order, same body and key.
      expect(resumed).toEqual(holder.added);
      expect(holder.leased).toEqual(holder.added.slice(0, 2).map((a) => a.referenceId));
    } finally {
      store.close();
    }
  });

  it('locks the real file: a second process opening it through a symbolic link (to the file or to its directory) is refused', async () => {
    const real = tmp.file('real.db');
    mkdirSync(join(tmp.dir, 'elsewhere'));
    const fileLink = join(tmp.dir, 'elsewhere', 'link.db');
    symlinkSync(real, fileLink);
    const dirLink = join(tmp.dir, 'dir-link');
    symlinkSync(tmp.dir, dirLink);
    const holder = await holdStore(real, 100, 0);
    try {
      for (const name of [fileLink, join(dirLink, 'real.db')]) {
        const err = lockedError(() => createSqliteStore({ path: name }));
        // Named by its real path, whatever name it was opened by.
        expect(err.path).toBe(real);
        expect(err.message).toContain(`is open in process ${holder.pid}`);
      }
    } finally {
      holder.child.kill('SIGKILL');
    }
    await holder.exited;
    // Through the link, after the holder died: everything it accepted, once.
    const store = createSqliteStore({ path: fileLink });
    try {
      expect(store.path).toBe(real);
      expect(store.list().map((d) => d.referenceId)).toEqual(holder.added.map((a) => a.referenceId));
    } finally {
      store.close();
    }
  });

  it('refuses a file with a second hard link, under either name, so no second process opens it beside the holder', async () => {
    const first = tmp.file('linked.db');
    const holder = await holdStore(first, 100, 0);
    const second = tmp.file('hard-link.db');
    linkSync(first, second);
    try {
      for (const name of [second, first]) {
        let thrown: unknown;
        try {
          createSqliteStore({ path: name });
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(SqliteStoreError);
        expect(thrown).toMatchObject({ code: 'STORE_LINKED', path: name });
        expect((thrown as Error).message).toMatch(/has 2 hard links.*Keep one name/);
      }
      // Readers are refused too: through another name they would read without the holder's WAL.
      let thrown: unknown;
      try {
        SqliteOutbox.open(second);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ code: 'STORE_LINKED' });
    } finally {
      holder.child.kill('SIGKILL');
    }
    await holder.exited;
  });

  it('refuses a second store in the same process, and the first one keeps its lock', async () => {
    const path = tmp.file('same-process.db');
    const first = createSqliteStore({ path });
    try {
      const err = lockedError(() => createSqliteStore({ path }));
      expect(err.message).toMatch(/is open in this process already/);
      // The refused attempt did not release the first store's lock: another process is still refused.
      await expect(holdStore(path, 0, 0)).rejects.toThrow(/STORE_LOCKED|is open in process/);
    } finally {
      first.close();
    }
    // Closed cleanly: the next opener gets it at once.
    createSqliteStore({ path }).close();
  });

  it('with lockTimeoutMs, waits for a holder that goes away in time', async () => {
    const path = tmp.file('handover.db');
    const holder = await holdStore(path, 3, 1, 300);
    lockedError(() => createSqliteStore({ path }));
    const store = createSqliteStore({ path, lockTimeoutMs: 20_000 });
    try {
      expect(await holder.exited).toEqual({ code: 0, signal: null });
      expect(store.count()).toBe(3);
    } finally {
      store.close();
    }
  });
});
