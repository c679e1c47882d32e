// One contract, both durable stores (issue 23): the SQLite file and the Postgres outbox behave the
// same on the same call and the same fault. What a MeterStore does (leases, retries, pauses, the
// memory window), what survives a restart, dead letters and replays, a row whose body is not its
// delta, rows of another Meter, a write or read that fails, calls after close, a row gone behind
// the store's back, and the outbox handle where nothing was ever written. The basics run on the
// MemoryStore too, the reference for what a store does. Each store's own behaviour (the SQLite
// lock and group commit, Postgres leases across instances) is tested in its package.
import { MemoryStore, PacSpaceApiError, IdempotencyConflictError, type MeterStore, type QueuedDelta, type StoreAttachment } from '@pacspace-metering/core';
import { queuedDelta } from './support/queued-delta.js';
import { postgresKind, sqliteKind, type DurableStore, type StoreKind, type StorePlace } from './support/store-places.js';
import { waitFor } from './support/wait.js';

const HOUR = 3_600_000;
const meterA: StoreAttachment = { scope: 'contract', account: 'key:aaaaaaaaaaaaaaaa', maxCount: 1_000, maxBytes: 16_000_000 };
const meterB: StoreAttachment = { ...meterA, account: 'key:bbbbbbbbbbbbbbbb' };
const noPause = () => 0;

const places: Record<StoreKind['name'], StoreKind> = { sqlite: sqliteKind(), postgres: postgresKind() };
const opened: Array<{ close?(): void | Promise<void> }> = [];
beforeAll(async () => {
  for (const kind of Object.values(places)) await kind.setUp();
}, 120_000);
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close?.();
});
afterAll(async () => {
  for (const kind of Object.values(places)) await kind.tearDown();
});

let n = 0;
/** A delta as the Meter queues it (its referenceId starts with the suite's scope). */
function delta(customerId: string, overrides: Partial<QueuedDelta> = {}): QueuedDelta {
  const seq = ++n;
  return queuedDelta(customerId, { seq, referenceId: `contract:api_request:${customerId}:req-${process.pid}-${seq}`, metadata: { seq }, acceptedAt: Date.now() }, overrides);
}

/** One lease, whether the store answers at once or with a Promise. */
async function lease(store: MeterStore, now = Date.now(), maxCount = 1, maxBytes = Infinity, pausedUntil: (customerId: string) => number = noPause): Promise<QueuedDelta[]> {
  return store.leaseBatch(now, maxCount, maxBytes, pausedUntil);
}

/** Leases and removes until a lease comes back empty, as a Meter delivering everything would. */
async function deliverAll(store: MeterStore, maxCount = 10): Promise<QueuedDelta[]> {
  const sent: QueuedDelta[] = [];
  for (let batch = await lease(store, Date.now(), maxCount); batch.length > 0; batch = await lease(store, Date.now(), maxCount)) {
    for (const item of batch) store.remove(item);
    sent.push(...batch);
  }
  return sent;
}

/** What a test can compare across stores: the key, the frozen body and the attempts made. */
const sent = (items: QueuedDelta[]) => items.map((i) => ({ referenceId: i.referenceId, body: i.body, attempts: i.attempts })).sort((a, b) => a.referenceId.localeCompare(b.referenceId));

describe.each([
  ['MemoryStore', async () => new MemoryStore() as MeterStore],
  ['SqliteStore', async () => (await places.sqlite.place()).open()],
  ['PostgresStore', async () => (await places.postgres.place()).open()],
])('%s: the MeterStore basics', (_name, create) => {
  let store: MeterStore;
  beforeEach(async () => {
    store = await create();
    opened.push(store);
  });

  it('leases in acceptance order and counts leased deltas until they are removed', async () => {
    const a = delta('a'), b = delta('b');
    await store.add(a);
    await store.add(b);
    expect(await lease(store)).toEqual([a]);
    expect({ count: store.count(), bytes: store.bytes() }).toEqual({ count: 2, bytes: a.bytes + b.bytes });
    store.remove(a);
    expect(store.count()).toBe(1);
    expect(await lease(store)).toEqual([b]);
    expect(await lease(store)).toEqual([]);
  });

  it('leases a batch up to its count and bytes, always at least one', async () => {
    const items = [delta('a'), delta('b'), delta('c')];
    for (const item of items) await store.add(item);
    expect(await lease(store, Date.now(), 2, Infinity)).toEqual(items.slice(0, 2));
    expect(await lease(store, Date.now(), 10, 1)).toEqual([items[2]]);
  });

  it('holds a released delta until it is due', async () => {
    const a = delta('a');
    await store.add(a);
    const now = Date.now();
    expect(await lease(store, now)).toEqual([a]);
    a.attempts = 1;
    a.dueAt = now + 60_000;
    store.release(a, now);
    expect(await lease(store, now)).toEqual([]);
    expect(store.nextDueAt()).toBeLessThanOrEqual(now + 60_000);
    expect(await lease(store, now + 60_000)).toEqual([a]);
  });

  it('parks a paused customer and lets the others through', async () => {
    const slow = delta('slow'), fast = delta('fast');
    await store.add(slow);
    await store.add(fast);
    const now = Date.now();
    const pausedUntil = (customerId: string) => (customerId === 'slow' ? now + 500 : 0);
    expect(await lease(store, now, 10, Infinity, pausedUntil)).toEqual([fast]);
    expect(await lease(store, now, 10, Infinity, pausedUntil)).toEqual([]);
    expect(await lease(store, now + 500)).toEqual([slow]);
  });

  it('gives up waiting deltas when asked but keeps leased ones', async () => {
    const a = delta('a'), b = delta('b'), c = delta('c', { dueAt: Date.now() + 60_000 });
    for (const item of [a, b, c]) await store.add(item);
    expect(await lease(store)).toEqual([a]);
    expect(sent(store.takeWaiting())).toEqual(sent([b, c]));
    expect({ count: store.count(), bytes: store.bytes(), list: store.list() }).toEqual({ count: 1, bytes: a.bytes, list: [a] });
  });

  it('reports the oldest acceptance time among held deltas, leased ones included', async () => {
    const older = delta('a', { acceptedAt: 1_000 }), newer = delta('b', { acceptedAt: 2_000 });
    await store.add(newer);
    await store.add(older);
    await lease(store);
    expect(store.oldestAcceptedAt()).toBe(1_000);
  });
});

describe.each([['sqlite'], ['postgres']] as const)('the %s store: the durable store contract', (kind) => {
  let place: StorePlace;
  let errors: Error[];
  beforeEach(async () => {
    place = await places[kind].place();
    errors = [];
  });

  /** A store on the place, as the next process would open it, reporting into `errors`. */
  async function open(meter?: StoreAttachment): Promise<DurableStore> {
    const store = await place.open((error) => void errors.push(error));
    opened.push(store);
    if (meter) store.attach(meter);
    return store;
  }

  /** A store of Meter A holding two deltas, both leased (being sent). */
  async function twoLeased(): Promise<{ store: DurableStore; a: QueuedDelta; b: QueuedDelta }> {
    const store = await open(meterA);
    const a = delta('a'), b = delta('b');
    await store.add(a);
    await store.add(b);
    expect(await lease(store, Date.now(), 2)).toEqual([a, b]);
    return { store, a, b };
  }

  it('every accepted delta survives: the next store resumes it with its body, key and attempts', async () => {
    const first = await open(meterA);
    const retried = delta('a'), waiting = delta('b'), inFlight = delta('c');
    for (const item of [retried, waiting, inFlight]) await first.add(item);
    expect(await lease(first, Date.now(), 1)).toEqual([retried]);
    retried.attempts = 1;
    first.release(retried, Date.now());
    expect(await lease(first, Date.now(), 10)).toEqual(expect.arrayContaining([inFlight]));
    await first.close();

    const second = await open(meterA);
    expect(sent(await deliverAll(second))).toEqual(sent([retried, waiting, { ...inFlight, attempts: 0 }]));
    await second.close();
    expect((await statusOf(place)).pending).toBe(0);
  });

  it('status counts pending deltas per Meter, their bytes and the oldest, and dead letters by reason', async () => {
    const store = await open(meterA);
    const a = delta('a', { acceptedAt: 5_000 }), b = delta('b', { acceptedAt: 7_000 });
    await store.add(a);
    await store.add(b);
    await store.close();
    expect(await statusOf(place)).toMatchObject({
      pending: 2,
      pendingBytes: a.bytes + b.bytes,
      oldestPendingAcceptedAt: 5_000,
      nextDueAt: 0,
      byMeter: [{ scope: meterA.scope, account: meterA.account, pending: 2 }],
      deadLetters: { total: 0, byReason: {} },
    });
  });

  it('a dead letter keeps its reason, last error and body; a replay gives it to the next store with the same body and key', async () => {
    const store = await open(meterA);
    const item = delta('acme');
    await store.add(item);
    expect(await lease(store)).toEqual([item]);
    item.attempts = 1;
    store.deadLetter(item, 'rejected', new PacSpaceApiError('customerId is unknown', { status: 400, code: 'VALIDATION_ERROR' }));
    await store.close();

    const outbox = await place.outbox();
    try {
      expect(await outbox.status()).toMatchObject({ pending: 0, deadLetters: { total: 1, byReason: { rejected: 1 } } });
      expect(await outbox.deadLetters()).toEqual([expect.objectContaining({
        referenceId: item.referenceId, customerId: 'acme', reason: 'rejected', attempts: 1, body: item.body, firstAcceptedAt: item.acceptedAt,
        error: { code: 'VALIDATION_ERROR', status: 400, message: 'customerId is unknown' },
      })]);
      expect((await outbox.replay()).replayed.map((l) => l.referenceId)).toEqual([item.referenceId]);
      expect(await outbox.status()).toMatchObject({ pending: 1, deadLetters: { total: 0 } });
    } finally {
      await outbox.close();
    }
    const next = await open(meterA);
    expect(sent(await deliverAll(next))).toEqual(sent([{ ...item, attempts: 0 }]));
  });

  it('a replay leaves 409s and corrupt letters alone unless named, and letters older than the key lifetime unless allowed', async () => {
    const store = await open(meterA);
    const conflict = delta('a'), old = delta('b', { acceptedAt: Date.now() - 25 * HOUR }), refused = delta('c');
    for (const item of [conflict, old, refused]) await store.add(item);
    expect(await lease(store, Date.now(), 3)).toEqual([conflict, old, refused]);
    store.deadLetter(conflict, 'integrity', new IdempotencyConflictError('reused with another body', { status: 409, code: 'IDEMPOTENCY_CONFLICT' }));
    store.deadLetter(old, 'max_elapsed', new Error('socket hang up'));
    store.deadLetter(refused, 'rejected', new PacSpaceApiError('bad', { status: 400, code: 'VALIDATION_ERROR' }));
    await store.close();

    const outbox = await place.outbox();
    try {
      const first = await outbox.replay();
      expect(first.replayed.map((l) => l.referenceId)).toEqual([refused.referenceId]);
      expect(first.skipped.map(({ letter, why }) => [letter.reason, why.split(':')[0]])).toEqual([['integrity', 'a 409'], ['max_elapsed', 'first accepted more than 24 h ago']]);
      expect((await outbox.replay({ reason: 'integrity' })).replayed.map((l) => l.referenceId)).toEqual([conflict.referenceId]);
      const [letter] = await outbox.deadLetters();
      expect((await outbox.replay({ ids: [letter!.id] })).replayed).toEqual([]);
      expect((await outbox.replay({ ids: [letter!.id] }, { allowExpiredKeys: true })).replayed.map((l) => l.referenceId)).toEqual([old.referenceId]);
      expect(await outbox.status()).toMatchObject({ pending: 3, deadLetters: { total: 0 } });
    } finally {
      await outbox.close();
    }
  });

  it('a row whose body is not its delta is never sent: it becomes a dead letter (corrupt), reported as STORE_CORRUPT, and the others go', async () => {
    const good = delta('good');
    const owner = { scope: meterA.scope, account: meterA.account };
    await place.insertRows([
      { ...owner, referenceId: 'contract:api_request:acme:not-json', customerId: 'acme', body: '{"customerId":"acme","delta":-1,' },
      { ...owner, referenceId: 'contract:api_request:acme:other-key', customerId: 'acme', body: JSON.stringify({ customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'contract:api_request:acme:someone-else' }) },
      { ...owner, referenceId: good.referenceId, customerId: 'good', body: good.body },
    ]);
    const store = await open(meterA);
    expect((await deliverAll(store)).map((i) => i.referenceId)).toEqual([good.referenceId]);
    await store.close();
    expect(errors.map(codeOf)).toEqual(['STORE_CORRUPT']);
    expect(errors[0]!.message).toMatch(/outbox row \d+ holds a body that is not JSON; outbox row \d+ holds a body whose referenceId \("contract:api_request:acme:someone-else"\) is not the row's \(contract:api_request:acme:other-key\): moved to the dead letters \(reason corrupt\), never sent/);

    const outbox = await place.outbox();
    try {
      const letters = await outbox.deadLetters({ reason: 'corrupt' });
      expect(letters.map((l) => [l.referenceId, l.error.code])).toEqual([['contract:api_request:acme:not-json', 'STORE_CORRUPT'], ['contract:api_request:acme:other-key', 'STORE_CORRUPT']]);
      expect(await outbox.status()).toMatchObject({ pending: 0, deadLetters: { total: 2, byReason: { corrupt: 2 } } });
      expect((await outbox.replay()).skipped.map((s) => s.why)).toEqual(Array(2).fill(expect.stringMatching(/^its body is not its delta/)));
    } finally {
      await outbox.close();
    }
  });

  it("rows of another account are neither served nor lost: reported as STORE_FOREIGN_ROWS, and their own Meter delivers them", async () => {
    const a = await open(meterA);
    const mine = [delta('a1'), delta('a2')];
    for (const item of mine) await a.add(item);
    await a.close();

    const b = await open(meterB);
    await waitFor(() => errors.length > 0, 'the report of the other account\'s rows');
    expect(errors.map(codeOf)).toEqual(['STORE_FOREIGN_ROWS']);
    expect(errors[0]!.message).toContain(`account: '${meterA.account}'`);
    expect(await deliverAll(b)).toEqual([]);
    await b.close();

    const again = await open(meterA);
    expect(sent(await deliverAll(again))).toEqual(sent(mine));
  });

  it('memory is a window: beyond it deltas wait in the outbox (backlog), durably, and are loaded as room frees', async () => {
    const store = await open({ ...meterA, maxCount: 4 });
    const added = Array.from({ length: 10 }, (_, i) => delta(`w${i}`));
    for (const item of added) await store.add(item);
    expect({ count: store.count(), backlog: store.backlog() }).toEqual({ count: 4, backlog: 6 });
    expect((await statusOf(place)).pending).toBe(10);
    const delivered: QueuedDelta[] = [];
    for (let batch = await lease(store, Date.now(), 2); batch.length > 0; batch = await lease(store, Date.now(), 2)) {
      for (const item of batch) store.remove(item);
      delivered.push(...batch);
      expect(store.count()).toBeLessThanOrEqual(4);
    }
    expect(sent(delivered)).toEqual(sent(added));
    expect(store.backlog()).toBe(0);
  });

  it('a delta that cannot be written is never counted as durable: add fails with STORE_WRITE_FAILED; once writes work, deltas are kept again', async () => {
    const store = await open(meterA);
    const table = await place.breakTable();
    const lost = delta('lost');
    await expect(Promise.resolve().then(() => store.add(lost))).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
    await table.heal();
    const kept = delta('kept');
    await store.add(kept);
    await store.close();
    const next = await open(meterA);
    expect((await deliverAll(next)).map((i) => i.referenceId)).toEqual([kept.referenceId]);
  });

  it('a read of the outbox that fails is reported as STORE_UNAVAILABLE; memory is still served, and the outbox read again later', async () => {
    const store = await open({ ...meterA, maxCount: 2 });
    const added = Array.from({ length: 4 }, (_, i) => delta(`r${i}`));
    for (const item of added) await store.add(item);
    expect(store.backlog()).toBe(2);
    const table = await place.breakTable();
    const fromMemory = await lease(store, Date.now(), 10);
    expect(sent(fromMemory)).toEqual(sent(added.slice(0, 2)));
    for (const item of fromMemory) store.remove(item);
    // With memory empty, the store reads the outbox for the rest: that read fails.
    expect(await lease(store, Date.now(), 10)).toEqual([]);
    await waitFor(() => errors.some((e) => codeOf(e) === 'STORE_UNAVAILABLE'), 'the failed read reported');
    await table.heal();
    // Read again once the store's pause after a failed read is over (a second, or the next poll).
    const rest: QueuedDelta[] = [];
    for (const deadline = Date.now() + 30_000; rest.length < 2 && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) {
      for (const item of await lease(store, Date.now(), 10)) {
        store.remove(item);
        rest.push(item);
      }
    }
    expect(sent(rest)).toEqual(sent(added.slice(2)));
  });

  it('calls after close change nothing and do not throw (answers still in flight); add throws; the next store finds the deltas', async () => {
    const { store, a, b } = await twoLeased();
    await store.close();
    expect(() => {
      store.remove(a);
      store.release(b, Date.now());
      store.deadLetter(b, 'rejected', new Error('late'));
    }).not.toThrow();
    expect(thrownBy(() => store.add(delta('c')))).toMatchObject({ code: 'STORE_WRITE_FAILED', message: expect.stringContaining('closed') });
    await store.close();
    const next = await open(meterA);
    expect(sent(await deliverAll(next))).toEqual(sent([a, b]));
  });

  it('settling a row that is already gone (removed behind its back) is harmless and reports nothing', async () => {
    const { store, a, b } = await twoLeased();
    await place.deleteRow(a.referenceId);
    await place.deleteRow(b.referenceId);
    store.remove(a);
    b.attempts = 1;
    store.release(b, Date.now());
    await store.close();
    expect(errors).toEqual([]);
    expect((await statusOf(place)).pending).toBe(0);
  });
});

describe.each([['sqlite'], ['postgres']] as const)('the %s outbox handle', (kind) => {
  it('where no Meter ever wrote: STORE_NOT_FOUND', async () => {
    await expect(places[kind].outboxOfNothing()).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
  });
});

/** What `fn` threw (undefined when it did not throw). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The code of a reported error. */
const codeOf = (error: Error) => (error as Error & { code?: string }).code;

async function statusOf(place: StorePlace) {
  const outbox = await place.outbox();
  try {
    return await outbox.status();
  } finally {
    await outbox.close();
  }
}
