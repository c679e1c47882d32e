import { MemoryStore } from './memory-store.js';
import type { QueuedDelta } from './store.js';

let seq = 0;
const item = (customerId: string, dueAt = 0): QueuedDelta => ({
  seq: ++seq, referenceId: `ref-${seq}`, customerId, fields: { customerId, delta: 1, reason: 'r', referenceId: `ref-${seq}` }, body: '{}', bytes: 10, acceptedAt: 0, attempts: 0, dueAt,
});
const noPause = () => 0;

describe('MemoryStore', () => {
  it('leases in acceptance order and counts leased items until removed', () => {
    const store = new MemoryStore();
    const a = item('a'), b = item('b');
    store.add(a);
    store.add(b);
    expect(store.lease(0, noPause)).toBe(a);
    expect(store.count()).toBe(2);
    expect(store.bytes()).toBe(20);
    store.remove(a);
    expect(store.count()).toBe(1);
    expect(store.lease(0, noPause)).toBe(b);
    expect(store.lease(0, noPause)).toBeUndefined();
  });

  it('holds released items until they are due', () => {
    const store = new MemoryStore();
    const a = item('a');
    store.add(a);
    store.lease(0, noPause);
    a.dueAt = 100;
    store.release(a, 0);
    expect(store.lease(50, noPause)).toBeUndefined();
    expect(store.nextDueAt()).toBe(100);
    expect(store.lease(100, noPause)).toBe(a);
  });

  it('parks a paused customer and lets the others through', () => {
    const store = new MemoryStore();
    const slow = item('slow'), fast = item('fast');
    store.add(slow);
    store.add(fast);
    const pausedUntil = (c: string) => (c === 'slow' ? 500 : 0);
    expect(store.lease(0, pausedUntil)).toBe(fast);
    expect(store.lease(0, pausedUntil)).toBeUndefined();
    expect(store.nextDueAt()).toBe(500);
    expect(store.lease(500, noPause)).toBe(slow);
  });

  it('gives up waiting items at shutdown but keeps leased ones', () => {
    const store = new MemoryStore();
    const a = item('a'), b = item('b'), c = item('c', 1000);
    [a, b, c].forEach((i) => store.add(i));
    store.lease(0, noPause);
    expect(store.takeWaiting().map((i) => i.referenceId).sort()).toEqual([b.referenceId, c.referenceId].sort());
    expect(store.count()).toBe(1);
    expect(store.bytes()).toBe(10);
  });

  it('stays O(1) amortized over many items', () => {
    const store = new MemoryStore();
    for (let i = 0; i < 50_000; i++) store.add(item('x'));
    let leased = 0;
    for (let next = store.lease(0, noPause); next; next = store.lease(0, noPause)) {
      store.remove(next);
      leased++;
    }
    expect(leased).toBe(50_000);
    expect(store.count()).toBe(0);
    expect(store.bytes()).toBe(0);
  });
});
