import { MemoryStore } from './memory-store.js';
import type { QueuedDelta } from './store.js';

let seq = 0;
const item = (customerId: string, dueAt = 0, bytes = 10): QueuedDelta => ({
  seq: ++seq, referenceId: `ref-${seq}`, customerId, fields: { customerId, delta: 1, reason: 'r', referenceId: `ref-${seq}` }, body: '{}', bytes, acceptedAt: 0, attempts: 0, dueAt,
});
const noPause = () => 0;
const leaseOne = (store: MemoryStore, now: number, pausedUntil = noPause) => store.leaseBatch(now, 1, Infinity, pausedUntil)[0];

describe('MemoryStore', () => {
  it('leases in acceptance order and counts leased items until removed', () => {
    const store = new MemoryStore();
    const a = item('a'), b = item('b');
    store.add(a);
    store.add(b);
    expect(leaseOne(store, 0)).toBe(a);
    expect(store.count()).toBe(2);
    expect(store.bytes()).toBe(20);
    store.remove(a);
    expect(store.count()).toBe(1);
    expect(leaseOne(store, 0)).toBe(b);
    expect(leaseOne(store, 0)).toBeUndefined();
  });

  it('leases a batch up to its count and byte limits, always at least one', () => {
    const store = new MemoryStore();
    const items = [item('a', 0, 40), item('b', 0, 40), item('c', 0, 40), item('d', 0, 200)];
    items.forEach((i) => store.add(i));
    expect(store.dueCount(0)).toBe(4);
    expect(store.leaseBatch(0, 2, 1000, noPause)).toEqual(items.slice(0, 2));
    expect(store.leaseBatch(0, 10, 100, noPause)).toEqual([items[2]]);
    expect(store.leaseBatch(0, 10, 100, noPause)).toEqual([items[3]]);
    expect(store.dueCount(0)).toBe(0);
    expect(store.count()).toBe(4);
  });

  it('holds released items until they are due', () => {
    const store = new MemoryStore();
    const a = item('a');
    store.add(a);
    leaseOne(store, 0);
    a.dueAt = 100;
    store.release(a, 0);
    expect(store.dueCount(50)).toBe(0);
    expect(leaseOne(store, 50)).toBeUndefined();
    expect(store.nextDueAt()).toBe(100);
    expect(store.dueCount(100)).toBe(1);
    expect(leaseOne(store, 100)).toBe(a);
  });

  it('parks a paused customer and lets the others through', () => {
    const store = new MemoryStore();
    const slow = item('slow'), fast = item('fast');
    store.add(slow);
    store.add(fast);
    const pausedUntil = (c: string) => (c === 'slow' ? 500 : 0);
    expect(store.leaseBatch(0, 10, Infinity, pausedUntil)).toEqual([fast]);
    expect(leaseOne(store, 0, pausedUntil)).toBeUndefined();
    expect(store.nextDueAt()).toBe(500);
    expect(leaseOne(store, 500)).toBe(slow);
  });

  it('gives up waiting items at shutdown but keeps leased ones', () => {
    const store = new MemoryStore();
    const a = item('a'), b = item('b'), c = item('c', 1000);
    [a, b, c].forEach((i) => store.add(i));
    leaseOne(store, 0);
    expect(store.takeWaiting().map((i) => i.referenceId).sort()).toEqual([b.referenceId, c.referenceId].sort());
    expect(store.count()).toBe(1);
    expect(store.bytes()).toBe(10);
  });

  it('stays O(1) amortized over many items', () => {
    const store = new MemoryStore();
    for (let i = 0; i < 50_000; i++) store.add(item('x'));
    let leased = 0;
    for (let batch = store.leaseBatch(0, 100, Infinity, noPause); batch.length > 0; batch = store.leaseBatch(0, 100, Infinity, noPause)) {
      for (const next of batch) store.remove(next);
      leased += batch.length;
    }
    expect(leased).toBe(50_000);
    expect(store.count()).toBe(0);
    expect(store.bytes()).toBe(0);
  });
});
