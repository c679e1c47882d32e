import { MinHeap } from '../delivery/min-heap.js';
import type { MeterStore, QueuedDelta } from './store.js';

/**
 * The default, in-memory {@link MeterStore}: a FIFO of deltas due now and a heap of deltas waiting
 * for a retry time or a customer pause. Everything is O(1) or O(log n). Lost when the process dies.
 *
 * @example
 * createMeter({ client, store: new MemoryStore() });
 */
export class MemoryStore implements MeterStore {
  readonly durable = false;
  private ready: QueuedDelta[] = [];
  private head = 0;
  private readonly waiting = new MinHeap<QueuedDelta>((item) => item.dueAt);
  private readonly leased = new Set<QueuedDelta>();
  private totalBytes = 0;

  add(item: QueuedDelta): void {
    this.totalBytes += item.bytes;
    this.enqueue(item, 0);
  }

  leaseBatch(now: number, maxCount: number, maxBytes: number, pausedUntil: (customerId: string) => number): QueuedDelta[] {
    this.moveDue(now);
    const batch: QueuedDelta[] = [];
    let bytes = 0;
    while (this.head < this.ready.length && batch.length < maxCount) {
      const item = this.ready[this.head]!;
      if (batch.length > 0 && bytes + item.bytes > maxBytes) break;
      this.ready[this.head++] = undefined as unknown as QueuedDelta;
      // A paused customer's deltas wait in the heap until the pause ends; others keep flowing.
      const pause = pausedUntil(item.customerId);
      if (pause > now) {
        item.dueAt = Math.max(item.dueAt, pause);
        this.waiting.push(item);
        continue;
      }
      this.leased.add(item);
      batch.push(item);
      bytes += item.bytes;
    }
    this.compact();
    return batch;
  }

  dueCount(now: number): number {
    this.moveDue(now);
    return this.ready.length - this.head;
  }

  remove(item: QueuedDelta): void {
    if (this.leased.delete(item)) this.totalBytes -= item.bytes;
  }

  release(item: QueuedDelta, now: number): void {
    if (this.leased.delete(item)) this.enqueue(item, now);
  }

  takeWaiting(): QueuedDelta[] {
    const taken = [...this.ready.slice(this.head), ...this.waiting.values()];
    this.ready = [];
    this.head = 0;
    this.waiting.clear();
    for (const item of taken) this.totalBytes -= item.bytes;
    return taken;
  }

  count(): number {
    return this.ready.length - this.head + this.waiting.size + this.leased.size;
  }

  bytes(): number {
    return this.totalBytes;
  }

  nextDueAt(): number | undefined {
    if (this.head < this.ready.length) return 0;
    return this.waiting.peek()?.dueAt;
  }

  oldestAcceptedAt(): number | undefined {
    let oldest: number | undefined;
    for (const item of this.list()) if (oldest === undefined || item.acceptedAt < oldest) oldest = item.acceptedAt;
    return oldest;
  }

  list(): QueuedDelta[] {
    return [...this.ready.slice(this.head), ...this.waiting.values(), ...this.leased];
  }

  /** Moves the deltas whose retry time has come from the heap to the FIFO. */
  private moveDue(now: number): void {
    while (this.waiting.size > 0 && this.waiting.peek()!.dueAt <= now) this.ready.push(this.waiting.pop()!);
  }

  private enqueue(item: QueuedDelta, now: number): void {
    if (item.dueAt > now) this.waiting.push(item);
    else this.ready.push(item);
  }

  /** Drops the consumed front of the FIFO once it is large, keeping shifts amortized O(1). */
  private compact(): void {
    if (this.head === this.ready.length) {
      this.ready = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
  }
}
