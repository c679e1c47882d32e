/**
 * What the gate knows of one customer: the last balance PacSpace derived, what the other
 * instances had queued then, and the calls let through that are still running.
 */
export class CustomerBalance {
  /** The last derived balance; undefined until one was read. */
  derived: number | undefined = undefined;
  /** When the read that gave `derived` started (its age is counted from there, to err on the old side). */
  derivedAt = -Infinity;
  /** Other instances' undelivered usage at that read (`fleetPending`), 0 without it. */
  fleet = 0;
  /** Sum of the prices of calls let through and still running. */
  reserved = 0;
  /** Calls let through and still running: a customer with some is never forgotten. */
  running = 0;
  /** The refresh under way, if any: one at a time per customer. */
  refreshing: Promise<void> | undefined = undefined;
  /** When the last refresh failed; the next one waits `ttlMs` from there. */
  failedAt = -Infinity;

  /**
   * @param customerId - who pays.
   * @param stats - the gate's counters, whose `running` gauge follows this customer's.
   */
  constructor(
    readonly customerId: string,
    readonly stats: { running: number },
  ) {}
}

/**
 * The customers a gate keeps, least recently checked first, at most `max` of them. Forgetting one
 * forgets only its cached balance: never one with calls running or a refresh under way.
 *
 * @example
 * const balances = new CustomerBalances(10_000, stats);
 * const entry = balances.touch('acme');
 */
export class CustomerBalances {
  private readonly entries = new Map<string, CustomerBalance>();

  constructor(
    private readonly max: number,
    private readonly stats: { running: number; evicted: number },
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The customer's entry, created when new, moved to the most recently used end. */
  touch(customerId: string): CustomerBalance {
    let entry = this.entries.get(customerId);
    if (entry) {
      this.entries.delete(customerId);
      this.entries.set(customerId, entry);
      return entry;
    }
    entry = new CustomerBalance(customerId, this.stats);
    this.entries.set(customerId, entry);
    if (this.entries.size > this.max) this.evictOneBut(entry);
    return entry;
  }

  private evictOneBut(newest: CustomerBalance): void {
    for (const [customerId, entry] of this.entries) {
      if (entry === newest || entry.running > 0 || entry.refreshing !== undefined) continue;
      this.entries.delete(customerId);
      this.stats.evicted++;
      return;
    }
  }
}
