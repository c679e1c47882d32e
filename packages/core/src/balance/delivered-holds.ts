import type { PacSpaceApiError } from '../errors.js';
import type { MeterBalanceSource } from './balance-source.js';
import type { BalanceGateStats } from './gate-stats.js';
import type { DeliveredUsage } from './unsettled-usage.js';

interface Held {
  customerId: string;
  delta: number;
  recordId: string | undefined;
  deliveredAt: number;
  /** Let go of (seen counted, or dropped): the global queue skips it. */
  gone: boolean;
}

interface CustomerHolds {
  sum: number;
  /** In delivery order; the held ones from `head` on (deltas leave from the front only). */
  items: Held[];
  head: number;
}

/** With status reads, the longest a delivered delta is held: PacSpace verifies 95% within 30 s. */
export const MAX_HOLD_MS = 15 * 60_000;
/** Delivered deltas held at most, over all customers; the oldest go first. */
export const MAX_HELD = 100_000;
const TERMINAL = new Set(['VERIFIED', 'FAILED']);
const NOTHING = (): void => undefined;

/**
 * Delivered deltas that PacSpace's derived balance may not include yet: derive counts only
 * VERIFIED deltas, and verification takes seconds (p95 < 30 s). Each is held, and counted in the
 * customer's balance, until the gate has seen PacSpace count it.
 *
 * How it sees that: before each derive of a customer, one status read of one held delta. Deltas of
 * one customer are verified in order (PacSpace chains each customer's records), so when the one
 * read is final (`VERIFIED`, or `FAILED`: never billed), it and every delta held before it are in
 * the derive that follows, and are let go. Which one to read: the newest one older than the lag
 * seen so far (the lag halves after a final answer and doubles past the read's age otherwise), so
 * a steady stream of deliveries is let go of in large steps, one read per refresh. Reading before
 * deriving errs on the safe side: a delta verified in between is counted twice for one refresh
 * (a lower balance), never not at all. A client that cannot read statuses holds each delta for
 * `holdDeliveredMs`.
 *
 * @example
 * const holds = new DeliveredHolds();
 * source.onDelivered((usage) => holds.hold(usage));
 * holds.sum('acme'); // -3 until PacSpace is seen to count those three calls
 */
export class DeliveredHolds {
  private readonly customers = new Map<string, CustomerHolds>();
  /** Every held delta in delivery order, to let go of the expired ones whatever their customer. */
  private queue: Held[] = [];
  private queueHead = 0;
  private held = 0;
  /** How long verification seems to take, from the status reads so far. */
  private lagMs = 0;

  constructor(
    private readonly stats: BalanceGateStats,
    private readonly maxHeld = MAX_HELD,
  ) {}

  /** Holds a delivered delta until PacSpace is seen to count it. */
  hold(usage: DeliveredUsage, maxHoldMs: number): void {
    const item: Held = { customerId: usage.customerId, delta: usage.delta, recordId: usage.recordId, deliveredAt: usage.deliveredAt, gone: false };
    let holds = this.customers.get(usage.customerId);
    if (!holds) this.customers.set(usage.customerId, (holds = { sum: 0, items: [], head: 0 }));
    holds.items.push(item);
    holds.sum += item.delta;
    this.queue.push(item);
    this.held++;
    this.expire(usage.deliveredAt - maxHoldMs);
  }

  /** Net of the customer's held deltas (0 when none). */
  sum(customerId: string): number {
    return this.customers.get(customerId)?.sum ?? 0;
  }

  get size(): number {
    return this.held;
  }

  /**
   * Finds the customer's deltas PacSpace counts now: by one status read when the client can read
   * statuses, else by age (`holdMs`). Call it before the derive it prepares, and call what it
   * answers when that derive's balance is applied, in the same turn: letting go of a delta before
   * the balance that includes it is in place would count it nowhere. Never rejects.
   */
  async confirm(customerId: string, source: MeterBalanceSource, now: number, holdMs: number, timeoutMs: number): Promise<() => void> {
    const holds = this.customers.get(customerId);
    if (!holds) return NOTHING;
    const read = source.deltaStatus;
    const candidate = read === undefined ? undefined : this.candidate(holds, now);
    if (read === undefined || candidate === undefined) {
      // Nothing to read: held for `holdMs`, then let go unseen (counted as such).
      return () => {
        if (this.customers.get(customerId) !== holds) return;
        const before = this.held;
        this.releaseUpTo(customerId, holds, (item) => item.deliveredAt <= now - holdMs);
        this.stats.heldDropped += before - this.held;
      };
    }
    this.stats.statusReads++;
    let status: unknown;
    try {
      status = ((await read(candidate.recordId!, timeoutMs)) as { status?: unknown } | null)?.status;
    } catch (err) {
      // A record PacSpace does not know is not counted and never will be: let it go too.
      if ((err as PacSpaceApiError).status !== 404) {
        this.stats.statusFailures++;
        return NOTHING;
      }
      status = 'FAILED';
    }
    if (typeof status === 'string' && TERMINAL.has(status)) {
      this.lagMs = Math.floor(this.lagMs / 2);
      // Held before it, so verified before it, or FAILED: never billed. Either way derive is right about them.
      return () => {
        if (!candidate.gone && this.customers.get(customerId) === holds) this.releaseUpTo(customerId, holds, (item) => item.deliveredAt <= candidate.deliveredAt, candidate);
      };
    }
    this.lagMs = Math.min(MAX_HOLD_MS, Math.max(this.lagMs, now - candidate.deliveredAt) * 2);
    return NOTHING;
  }

  /** The newest held delta with a recordId delivered at least `lagMs` ago, else the oldest with one. */
  private candidate(holds: CustomerHolds, now: number): Held | undefined {
    let oldest: Held | undefined;
    for (let i = holds.items.length - 1; i >= holds.head; i--) {
      const item = holds.items[i]!;
      if (item.recordId === undefined) continue;
      if (item.deliveredAt <= now - this.lagMs) return item;
      oldest = item;
    }
    return oldest;
  }

  /** Lets go of the customer's oldest deltas while `test` holds for them, up to `last` included when given. */
  private releaseUpTo(customerId: string, holds: CustomerHolds, test: (item: Held) => boolean, last?: Held): void {
    const { items } = holds;
    while (holds.head < items.length && test(items[holds.head]!)) {
      const item = items[holds.head++]!;
      this.letGo(item, holds);
      if (item === last) break;
    }
    this.trim(customerId, holds);
  }

  /** Forgets a customer with nothing held; now and then drops the let-go front of its list. */
  private trim(customerId: string, holds: CustomerHolds): void {
    if (holds.head === holds.items.length) this.customers.delete(customerId);
    else if (holds.head > 1024 && holds.head * 2 > holds.items.length) {
      holds.items.splice(0, holds.head);
      holds.head = 0;
    }
  }

  private letGo(item: Held, holds: CustomerHolds): void {
    item.gone = true;
    holds.sum -= item.delta;
    this.held--;
  }

  /** Drops what was held longer than the limit, and the oldest beyond `maxHeld`, counting each. */
  private expire(cutoff: number): void {
    while (this.queueHead < this.queue.length) {
      const item = this.queue[this.queueHead]!;
      if (!item.gone && item.deliveredAt > cutoff && this.held <= this.maxHeld) break;
      this.queueHead++;
      if (item.gone) continue;
      // The oldest held delta of all is the oldest of its customer: the front of its list.
      const holds = this.customers.get(item.customerId)!;
      holds.head++;
      this.letGo(item, holds);
      this.trim(item.customerId, holds);
      this.stats.heldDropped++;
    }
    // Compact the queue now and then: it keeps only what is still held (deltas let go of when seen
    // counted stay in it until then), so it never grows beyond about twice what is held.
    const kept = this.queue.length - this.queueHead;
    if (kept > 2 * this.held + 1024) {
      this.queue = this.queue.filter((item, i) => i >= this.queueHead && !item.gone);
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }
}
