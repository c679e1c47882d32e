// The store contract fits an asynchronous database: a store whose leases answer later (as a
// shared outbox's SELECT ... FOR UPDATE SKIP LOCKED would) delivers every delta once, one lease at
// a time, and a lease that finds nothing waits for the store's next poll instead of asking again.
import { createMeter, MemoryStore, type QueuedDelta } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';

/** A MemoryStore whose leases take a turn of the event loop, and which counts them. */
class SlowLeaseStore extends MemoryStore {
  leases = 0;
  concurrentLeases = 0;
  maxConcurrentLeases = 0;
  emptyLeases = 0;

  override leaseBatch(now: number, maxCount: number, maxBytes: number, pausedUntil: (customerId: string) => number): Promise<QueuedDelta[]> {
    this.leases++;
    this.maxConcurrentLeases = Math.max(this.maxConcurrentLeases, ++this.concurrentLeases);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.concurrentLeases--;
        const leased = super.leaseBatch(now, maxCount, maxBytes, pausedUntil);
        if (leased.length === 0) this.emptyLeases++;
        resolve(leased);
      }, 2),
    );
  }
}

describe('a store with asynchronous leases', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 21, faults: { serverError: { rate: 0.1, statuses: [503] } } });
  });
  afterAll(() => sandbox.close());

  it('delivers every delta once, one lease at a time', async () => {
    const store = new SlowLeaseStore();
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, store, maxBatchSize: 25, flushIntervalMs: 5, retryBaseDelayMs: 5 });
    for (let i = 0; i < 500; i++) meter.enqueue({ customerId: `c${i % 5}`, delta: -1, reason: 'r', requestId: `a-${i}` });
    const report = await meter.close({ timeoutMs: 30_000 });
    expect(report).toMatchObject({ delivered: 500, failed: 0, dropped: 0, pending: 0, timedOut: false });
    const ledger = sandbox.ledger();
    expect(ledger.deltas).toHaveLength(500);
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(store.maxConcurrentLeases).toBe(1);
    expect(store.leases).toBeGreaterThanOrEqual(20);
    // Leases that found nothing (everything already leased, or retrying later) were not repeated in a loop.
    expect(store.emptyLeases).toBeLessThan(store.leases);
  });
});
