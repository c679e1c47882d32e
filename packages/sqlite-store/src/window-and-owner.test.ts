// The SQLite store as the queue (issue 20, items 2 and 5): memory is a window of the Meter's
// maxQueueSize onto the file; rows record the Meter that accepted them, and a file of schema 1
// is upgraded, its rows adopted by the Meter whose scope starts their referenceId.
import { type StoreAttachment } from '@pacspace-metering/core';
import { delta, noPause, tempDir } from '../test-support/helpers.js';
import type { SqliteStoreError } from './errors.js';
import { openConnection } from './sqlite-driver.js';
import { createSqliteStore } from './sqlite-store.js';
import { SqliteOutbox } from './outbox.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const freshPath = () => tmp.file(`window-${++n}.db`);
const meterA: StoreAttachment = { scope: 'test', account: 'key:aaaaaaaaaaaaaaaa', maxCount: 4, maxBytes: 1_000_000 };

describe('SqliteStore: memory is a window onto the file', () => {
  it('keeps deltas beyond the window in the file only, and loads them, oldest first, as room frees', () => {
    const path = freshPath();
    const store = createSqliteStore({ path });
    store.attach(meterA);
    const added = Array.from({ length: 10 }, (_, i) => delta(`c${i}`));
    for (const item of added) store.add(item);
    expect({ count: store.count(), backlog: store.backlog() }).toEqual({ count: 4, backlog: 6 });
    const file = SqliteOutbox.open(path);
    expect(file.status().pending).toBe(10);
    file.close();

    const sent: string[] = [];
    for (;;) {
      const batch = store.leaseBatch(Date.now(), 2, Infinity, noPause);
      if (batch.length === 0) break;
      for (const item of batch) {
        sent.push(item.referenceId);
        store.remove(item);
      }
      expect(store.count()).toBeLessThanOrEqual(4);
    }
    expect(sent).toEqual(added.map((d) => d.referenceId));
    expect({ count: store.count(), backlog: store.backlog() }).toEqual({ count: 0, backlog: 0 });
    store.close();
  });

  it('a restart loads only a window of what the file holds; the rest follows', () => {
    const path = freshPath();
    const first = createSqliteStore({ path });
    first.attach({ ...meterA, maxCount: 1_000 });
    for (let i = 0; i < 12; i++) first.add(delta(`r${i}`));
    first.close();
    const second = createSqliteStore({ path });
    second.attach(meterA);
    expect({ count: second.count(), backlog: second.backlog() }).toEqual({ count: 4, backlog: 8 });
    second.close();
  });

  it('with group commit, a delta beyond the window is committed at once (a crash cannot lose it)', () => {
    const path = freshPath();
    const store = createSqliteStore({ path, commitWindowMs: 1_000 });
    store.attach({ ...meterA, maxCount: 2 });
    for (let i = 0; i < 3; i++) store.add(delta(`g${i}`));
    // Not closed, not committed by a timer: what the file has now is what a SIGKILL would leave.
    const file = SqliteOutbox.open(path);
    expect(file.status().pending).toBe(3);
    file.close();
    store.close();
  });
});

describe('SqliteStore: rows belong to the Meter that accepted them', () => {
  it('loads only its own rows and reports the others once; the owner gets them back', () => {
    const path = freshPath();
    const a = createSqliteStore({ path });
    a.attach(meterA);
    const mine = [delta('a1'), delta('a2')];
    for (const item of mine) a.add(item);
    a.close();

    const errors: SqliteStoreError[] = [];
    const b = createSqliteStore({ path, onError: (e) => void errors.push(e) });
    b.attach({ ...meterA, account: 'key:bbbbbbbbbbbbbbbb' });
    expect({ count: b.count(), backlog: b.backlog() }).toEqual({ count: 0, backlog: 0 });
    expect(errors.map((e) => e.code)).toEqual(['STORE_FOREIGN_ROWS']);
    expect(errors[0]!.message).toContain("test key:aaaaaaaaaaaaaaaa: 2");
    expect(errors[0]!.message).toContain("give this Meter the option account: 'key:aaaaaaaaaaaaaaaa'");
    b.add(delta('b1'));
    b.close();

    const file = SqliteOutbox.open(path);
    expect(file.status().byMeter).toEqual([
      { scope: 'test', account: 'key:aaaaaaaaaaaaaaaa', pending: 2 },
      { scope: 'test', account: 'key:bbbbbbbbbbbbbbbb', pending: 1 },
    ]);
    file.close();
    const again = createSqliteStore({ path });
    again.attach(meterA);
    expect(again.list().map((d) => d.referenceId)).toEqual(mine.map((d) => d.referenceId));
    again.close();
  });

  it('refuses a second Meter on one store', () => {
    const store = createSqliteStore({ path: freshPath() });
    store.attach(meterA);
    expect(() => store.attach(meterA)).toThrow(/already serves another Meter/);
    store.close();
  });

  it('upgrades a file of schema 1; its rows go to the Meter of the scope their referenceId starts with', () => {
    const path = freshPath();
    const old = createSqliteStore({ path });
    const legacy = delta('legacy'); // referenceId test:api_request:legacy:...
    const other = delta('other', { referenceId: 'another-service:api_request:other:1' });
    old.add(legacy);
    old.add(other);
    old.close();
    // What version 1 wrote: no owner columns.
    const raw = openConnection(path, { busyTimeoutMs: 0 });
    raw.exec('ALTER TABLE outbox DROP COLUMN scope; ALTER TABLE outbox DROP COLUMN account; ALTER TABLE dead_letters DROP COLUMN scope; ALTER TABLE dead_letters DROP COLUMN account; PRAGMA user_version = 1;');
    raw.close();

    const errors: SqliteStoreError[] = [];
    const store = createSqliteStore({ path, onError: (e) => void errors.push(e) });
    store.attach(meterA);
    expect(store.list().map((d) => d.referenceId)).toEqual([legacy.referenceId]);
    expect(errors.map((e) => e.code)).toEqual(['STORE_FOREIGN_ROWS']);
    store.close();
    const file = SqliteOutbox.open(path);
    expect(file.status().byMeter).toEqual([
      { scope: null, account: null, pending: 1 },
      { scope: 'test', account: 'key:aaaaaaaaaaaaaaaa', pending: 1 },
    ]);
    file.close();
  });
});
