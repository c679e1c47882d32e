import { MeteringConfigError, type QueuedDelta } from '@pacspace-metering/core';
import { delta, noPause, tempDir } from '../test-support/helpers.js';
import { SqliteStoreError } from './errors.js';
import { createSqliteStore, SqliteStore } from './sqlite-store.js';
import { SqliteOutbox } from './outbox.js';
import { openConnection } from './sqlite-driver.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const freshPath = () => tmp.file(`store-${++n}.db`);

// The MeterStore contract both durable stores share (leases, retries, pauses, the memory window,
// dead letters, corrupt rows, failed writes and reads) is test/store-contract.test.ts; what only
// the SQLite file does is here.
describe('SqliteStore: the file keeps up', () => {
  let store: SqliteStore;
  beforeEach(() => {
    store = createSqliteStore({ path: freshPath() });
  });
  afterEach(() => store.close());

  it('gives up waiting deltas in the file too, keeping the leased one', () => {
    const a = delta('a'), b = delta('b'), c = delta('c', { dueAt: 1000 });
    [a, b, c].forEach((i) => store.add(i));
    store.leaseBatch(0, 1, Infinity, noPause);
    expect(store.takeWaiting().map((i) => i.referenceId).sort()).toEqual([b.referenceId, c.referenceId].sort());
    store.commit();
    expect(pendingInFile(store.path)).toBe(1);
  });

  it('over many deltas, each committed as it is added', () => {
    for (let i = 0; i < 5_000; i++) store.add(delta('x'));
    let leased = 0;
    for (let next = store.leaseBatch(0, 1, Infinity, noPause)[0]; next; next = store.leaseBatch(0, 1, Infinity, noPause)[0]) {
      store.remove(next);
      leased++;
    }
    expect(leased).toBe(5_000);
    expect(store.count()).toBe(0);
    expect(store.bytes()).toBe(0);
    store.commit();
    expect(pendingInFile(store.path)).toBe(0);
  });
});

describe('SqliteStore: what survives a reopen', () => {
  it('each add is in the file before add returns, with its body and key verbatim', () => {
    const path = freshPath();
    const store = createSqliteStore({ path });
    const a = delta('acme', { referenceId: 'scope:op:acme:req-ü-1' });
    store.add(a);
    // Another connection sees it at once: committed, not buffered.
    const raw = openConnection(path, { readOnly: true, busyTimeoutMs: 0 });
    expect(raw.prepare('SELECT reference_id, body, bytes, accepted_at FROM outbox').all()).toEqual([{ reference_id: a.referenceId, body: a.body, bytes: a.bytes, accepted_at: a.acceptedAt }]);
    raw.close();
    store.close();
  });

  it('a new store on the file resumes every pending delta, leased ones due again, with attempts and retry times', () => {
    const path = freshPath();
    const first = createSqliteStore({ path });
    const sent = delta('a'), retrying = delta('b'), leasedWhenStopped = delta('c'), waiting = delta('d');
    [sent, retrying, leasedWhenStopped, waiting].forEach((i) => first.add(i));
    const now = 10_000;
    first.leaseBatch(now, 1, Infinity, noPause)[0];
    sent.attempts = 1;
    first.remove(sent);
    first.leaseBatch(now, 1, Infinity, noPause)[0];
    retrying.attempts = 1;
    retrying.dueAt = now + 60_000;
    first.release(retrying, now);
    first.leaseBatch(now, 1, Infinity, noPause)[0];
    leasedWhenStopped.attempts = 1;
    first.close();

    const second = createSqliteStore({ path });
    expect(second.count()).toBe(3);
    // Due now: the one that was in flight and the one never tried, in acceptance order, same body and key.
    const due = [second.leaseBatch(now, 1, Infinity, noPause)[0], second.leaseBatch(now, 1, Infinity, noPause)[0]];
    expect(due.map((i) => i && { referenceId: i.referenceId, body: i.body, attempts: i.attempts, acceptedAt: i.acceptedAt })).toEqual([
      { referenceId: leasedWhenStopped.referenceId, body: leasedWhenStopped.body, attempts: 0, acceptedAt: leasedWhenStopped.acceptedAt },
      { referenceId: waiting.referenceId, body: waiting.body, attempts: 0, acceptedAt: waiting.acceptedAt },
    ]);
    expect(due[0]!.fields).toEqual(leasedWhenStopped.fields);
    expect(second.leaseBatch(now, 1, Infinity, noPause)[0]).toBeUndefined();
    expect(second.nextDueAt()).toBe(now + 60_000);
    const retried = second.leaseBatch(now + 60_000, 1, Infinity, noPause)[0]!;
    expect({ referenceId: retried.referenceId, attempts: retried.attempts }).toEqual({ referenceId: retrying.referenceId, attempts: 1 });
    second.close();
  });

  it('gives new rows ids after every id in the file, dead letters included', () => {
    const path = freshPath();
    const first = createSqliteStore({ path });
    const a = delta('a'), b = delta('b');
    first.add(a);
    first.add(b);
    first.leaseBatch(0, 1, Infinity, noPause)[0];
    first.deadLetter(a, 'rejected', new Error('no'));
    first.close();
    const second = createSqliteStore({ path });
    const c = delta('c');
    second.add(c);
    expect(c.seq).toBeGreaterThan(Math.max(a.seq, b.seq));
    second.close();
    const file = SqliteOutbox.open(path);
    expect(file.deadLetters().map((l) => [l.id, l.referenceId, l.reason])).toEqual([[a.seq, a.referenceId, 'rejected']]);
    expect(file.status().pending).toBe(2);
    file.close();
  });

  it('with group commit, an add reaches the file within the window, or at commit() or close()', async () => {
    const path = freshPath();
    const store = createSqliteStore({ path, commitWindowMs: 20 });
    store.add(delta('a'));
    expect(pendingInFile(path)).toBe(0);
    store.commit();
    expect(pendingInFile(path)).toBe(1);
    store.add(delta('b'));
    await waitUntil(() => pendingInFile(path) === 2);
    store.add(delta('c'));
    store.close();
    expect(pendingInFile(path)).toBe(3);
  });

  /** Makes every write fail from outside, as a full disk would; `heal()` makes them work again. */
  function sabotage(path: string): { heal(): void } {
    const raw = openConnection(path, { busyTimeoutMs: 0 });
    const { sql } = raw.prepare("SELECT sql FROM sqlite_schema WHERE name = 'outbox'").get() as { sql: string };
    raw.exec('DROP TABLE outbox');
    raw.close();
    return {
      heal() {
        const again = openConnection(path, { busyTimeoutMs: 0 });
        again.exec(sql);
        again.close();
      },
    };
  }

  it('a delta that cannot be written is refused (add throws STORE_WRITE_FAILED naming the file), never held in memory only', () => {
    const path = freshPath();
    const errors: SqliteStoreError[] = [];
    const store = createSqliteStore({ path, onError: (err) => void errors.push(err) });
    const disk = sabotage(path);
    let thrown: unknown;
    try {
      store.add(delta('a'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SqliteStoreError);
    expect(thrown).toMatchObject({ code: 'STORE_WRITE_FAILED', path });
    expect((thrown as Error).message).toMatch(/could not be written, so it was not accepted/);
    expect(store.count()).toBe(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'STORE_WRITE_FAILED', path });
    expect(errors[0]!.message).toMatch(/new deltas are refused until a write succeeds/);

    disk.heal();
    const b = delta('b');
    store.add(b);
    expect(store.list()).toEqual([b]);
    store.close();
    const reopened = createSqliteStore({ path });
    expect(reopened.list().map((d) => d.referenceId)).toEqual([b.referenceId]);
    reopened.close();
  });

  it('with group commit, a failed window keeps its deltas in memory (reported), and later deltas are committed at once and refused while writes fail', () => {
    const path = freshPath();
    const errors: SqliteStoreError[] = [];
    const store = createSqliteStore({ path, commitWindowMs: 1000, onError: (err) => void errors.push(err) });
    const disk = sabotage(path);
    const inWindow = delta('a');
    store.add(inWindow);
    store.commit();
    expect(errors.map((e) => e.code)).toEqual(['STORE_WRITE_FAILED']);
    expect(store.count()).toBe(1);
    expect(() => store.add(delta('b'))).toThrow(/could not be written, so it was not accepted/);
    expect(store.count()).toBe(1);
    disk.heal();
    store.add(delta('c'));
    expect(store.count()).toBe(2);
    store.close();
  });
});

describe('createSqliteStore options', () => {
  it.each([
    [{ path: '' }, 'path'],
    [{ path: ':memory:' }, 'path'],
    [{ path: 42 }, 'path'],
    [{ path: 'x.db', synchronous: 'off' }, 'synchronous'],
    [{ path: 'x.db', commitWindowMs: -1 }, 'commitWindowMs'],
    [{ path: 'x.db', commitWindowMs: 5000 }, 'commitWindowMs'],
    [{ path: 'x.db', lockTimeoutMs: 1.5 }, 'lockTimeoutMs'],
    [{ path: 'x.db', checkIntegrity: 'yes' }, 'checkIntegrity'],
    [{ path: 'x.db', onError: 'log' }, 'onError'],
    [{ path: 'x.db', synchronus: 'full' }, 'synchronus'],
  ])('%j is refused naming %s', (options, option) => {
    let thrown: unknown;
    try {
      createSqliteStore(options as never);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(MeteringConfigError);
    expect((thrown as MeteringConfigError).option).toBe(option);
  });

  it("accepts synchronous 'full' and a group-commit window", () => {
    const store = createSqliteStore({ path: freshPath(), synchronous: 'full', commitWindowMs: 5, lockTimeoutMs: 100, checkIntegrity: false });
    store.add(delta('a'));
    store.close();
    const file = SqliteOutbox.open(store.path);
    expect(file.status().pending).toBe(1);
    file.close();
  });
});

function pendingInFile(path: string): number {
  const raw = openConnection(path, { readOnly: true, busyTimeoutMs: 0 });
  try {
    return (raw.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  } finally {
    raw.close();
  }
}

async function waitUntil(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export type { QueuedDelta };
