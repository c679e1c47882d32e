import type { DeliveryRetry } from './delivery-retry.js';

/** Consecutive transient failures, with no answer between them, after which the whole meter backs off. */
export const OUTAGE_THRESHOLD = 5;

/**
 * When the Meter must hold back: the whole meter (a 429/503 with a hint, or an outage: five
 * transient failures in a row), or one customer (`CADENCE_LIMIT` names it). Other customers keep
 * flowing while one is paused.
 *
 * @example
 * const pauses = new Pauses(retry, Date.now);
 * pauses.pauseCustomer('acme', Date.now() + 60_000);
 * store.leaseBatch(now, 100, 512 * 1024, pauses.customerPausedUntil);
 */
export class Pauses {
  /** Epoch ms until which nothing is sent. */
  meterUntil = 0;
  private readonly customers = new Map<string, number>();
  private transientStreak = 0;

  constructor(
    private readonly retry: DeliveryRetry,
    private readonly now: () => number,
  ) {}

  /** When `customerId`'s pause ends, or 0; forgets pauses that have ended. Passed to the store as is. */
  readonly customerPausedUntil = (customerId: string): number => {
    if (this.customers.size === 0) return 0;
    const until = this.customers.get(customerId);
    if (until === undefined) return 0;
    if (until <= this.now()) {
      this.customers.delete(customerId);
      return 0;
    }
    return until;
  };

  pauseCustomer(customerId: string, until: number): void {
    this.customers.set(customerId, Math.max(this.customers.get(customerId) ?? 0, until));
  }

  /** PacSpace answered (whatever it said): the outage streak is over. */
  answered(): void {
    this.transientStreak = 0;
  }

  /**
   * A request failed transiently. `hintMs` (already clamped) pauses the whole meter when the server
   * asked for it (`pauseMeter`); five failures in a row pause it with a growing backoff. An
   * in-progress answer (202) shows a live server and does not count towards an outage.
   */
  failed(at: number, hintMs: number | undefined, pauseMeter: boolean, serverIsWorking: boolean): void {
    if (!serverIsWorking && ++this.transientStreak >= OUTAGE_THRESHOLD) {
      this.meterUntil = Math.max(this.meterUntil, at + this.retry.backoffMs(this.transientStreak - OUTAGE_THRESHOLD + 1));
    }
    if (pauseMeter && hintMs !== undefined) this.meterUntil = Math.max(this.meterUntil, at + hintMs);
  }

  /** Customers paused now, with the epoch ms each pause ends (for `stats()`). */
  pausedCustomers(at: number): Record<string, number> {
    const paused: Record<string, number> = {};
    for (const [customerId, until] of this.customers) if (until > at) paused[customerId] = until;
    return paused;
  }
}
