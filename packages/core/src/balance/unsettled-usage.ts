/**
 * One of a Meter's deltas that PacSpace took (answered QUEUED, or a replay): what a balance gate
 * keeps counting until PacSpace's derived balance includes it.
 *
 * @example
 * source.onDelivered((usage: DeliveredUsage) => console.log(usage.customerId, usage.delta, usage.recordId));
 */
export interface DeliveredUsage {
  referenceId: string;
  customerId: string;
  /** The amount delivered (an overflow sum's total for a folded delta). */
  delta: number;
  /** PacSpace's recordId from the answer, to read the delta's status; undefined when the answer had none. */
  recordId: string | undefined;
  /** Epoch ms the Meter saw the answer. */
  deliveredAt: number;
}

interface Entry {
  customerId: string;
  delta: number;
  at: number;
}

interface CustomerSum {
  sum: number;
  /** Entries in the sum: at 0 the customer is forgotten, and with it any floating-point residue. */
  entries: number;
}

/**
 * What a Meter has accepted and not settled yet, per customer: queued, in flight, waiting to
 * retry, and folded into overflow sums. Entries are keyed by referenceId (an overflow sum's amounts
 * accumulate under the sum's own id) and leave when PacSpace takes the delta (listeners hear of it)
 * or when the Meter gives it up. An entry older than `maxAgeMs` is forgotten: by then the Meter has
 * settled it one way or another, or another instance of a shared outbox delivered it.
 *
 * Created by the Meter on the first `balanceSource()` call; until then the Meter pays nothing for it.
 *
 * @example
 * const usage = new UnsettledUsage(6 * 3600_000);
 * usage.add('api:req:acme:1', 'acme', -1, Date.now());
 * usage.unsettled('acme', Date.now()); // -1
 */
export class UnsettledUsage {
  private readonly entries = new Map<string, Entry>();
  private readonly customers = new Map<string, CustomerSum>();
  private readonly listeners = new Set<(usage: DeliveredUsage) => void>();
  /** Old entries are looked for at most once a second, not on every read. */
  private nextSweepAt = 0;

  constructor(private readonly maxAgeMs: number) {}

  /** Counts an accepted delta (or one more delta folded into the sum `referenceId`). */
  add(referenceId: string, customerId: string, delta: number, at: number): void {
    const entry = this.entries.get(referenceId);
    if (entry) entry.delta += delta;
    else this.entries.set(referenceId, { customerId, delta, at });
    const sum = this.customers.get(customerId);
    if (!sum) this.customers.set(customerId, { sum: delta, entries: 1 });
    else {
      sum.sum += delta;
      if (!entry) sum.entries++;
    }
  }

  /** The delta left without being billed (given up, or a sum that netted to zero). */
  settle(referenceId: string): Entry | undefined {
    const entry = this.entries.get(referenceId);
    if (!entry) return undefined;
    this.entries.delete(referenceId);
    const sum = this.customers.get(entry.customerId)!;
    if (--sum.entries === 0) this.customers.delete(entry.customerId);
    else sum.sum -= entry.delta;
    return entry;
  }

  /** PacSpace took the delta: it leaves the sum and every listener hears of it, in the same turn. */
  delivered(referenceId: string, receipt: Record<string, unknown> | undefined, at: number): void {
    const entry = this.settle(referenceId);
    if (!entry || this.listeners.size === 0) return;
    const recordId = typeof receipt?.recordId === 'string' ? receipt.recordId : undefined;
    const usage: DeliveredUsage = { referenceId, customerId: entry.customerId, delta: entry.delta, recordId, deliveredAt: at };
    for (const listener of this.listeners) listener(usage);
  }

  /** Net of the customer's unsettled deltas (0 when none). */
  unsettled(customerId: string, now: number): number {
    if (now >= this.nextSweepAt) {
      this.nextSweepAt = now + 1000;
      this.forgetOlderThan(now - this.maxAgeMs);
    }
    return this.customers.get(customerId)?.sum ?? 0;
  }

  /** Deltas tracked, for stats. */
  get size(): number {
    return this.entries.size;
  }

  onDelivered(listener: (usage: DeliveredUsage) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Entries are in acceptance order, so the expired ones are at the front. */
  private forgetOlderThan(cutoff: number): void {
    for (const [referenceId, entry] of this.entries) {
      if (entry.at >= cutoff) return;
      this.settle(referenceId);
    }
  }
}

/**
 * Where a Meter's intake and outcomes reach the tracker: `tracker` stays undefined (one property
 * read per delta) until a balance gate asks the Meter for its balance source.
 *
 * @example
 * tap.tracker?.add(referenceId, customerId, delta, now);
 */
export interface UsageTap {
  tracker: UnsettledUsage | undefined;
}
