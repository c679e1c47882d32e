import type { CustomerBalance } from './customer-balances.js';

/**
 * Why a check decided as it did.
 * - `covered`: the balance covers the price (also a price of 0);
 * - `insufficient_balance`: it does not: refused (402);
 * - `balance_unavailable`: PacSpace could not be asked and no cached balance was young enough;
 *   served or refused by `whenUnavailable`;
 * - `dry_run`: the Meter was created with `enabled: false`: nothing to check, served.
 *
 * @example
 * if (check.reason === 'balance_unavailable' && check.allowed) metrics.increment('served_unchecked');
 */
export type BalanceCheckReason = 'covered' | 'insufficient_balance' | 'balance_unavailable' | 'dry_run';

/**
 * A balance gate's decision about one call. When `allowed`, the call's price is reserved against
 * the customer's balance until {@link release} is called: call it once the call has ended, billed
 * or not (the framework packages do, when the response closes). A billed call is counted by the
 * Meter from the moment it is accepted, so releasing it after that never opens a gap.
 *
 * @example
 * const check = await gate.check('acme', 1);
 * if (!check.allowed) return answer402(check);
 * try { await work(); } finally { check.release(); }
 */
export class BalanceCheck {
  /**
   * @param allowed - whether the call may run.
   * @param reason - why.
   * @param customerId - who pays.
   * @param price - what the call costs, as checked.
   * @param balance - the balance the decision saw, before this call's price: PacSpace's derived
   *   balance plus what PacSpace has not counted yet (this process's usage, other instances' with
   *   `fleetPending`) minus the calls still running; null when unknown.
   * @param entry - where the reservation is kept (undefined when nothing was reserved).
   */
  constructor(
    readonly allowed: boolean,
    readonly reason: BalanceCheckReason,
    readonly customerId: string,
    readonly price: number,
    readonly balance: number | null,
    private entry?: CustomerBalance,
  ) {}

  /** Ends the call's reservation. Idempotent; does nothing for a refused call. */
  release(): void {
    const entry = this.entry;
    if (entry === undefined) return;
    this.entry = undefined;
    entry.reserved -= this.price;
    entry.stats.running--;
    if (--entry.running === 0) entry.reserved = 0; // no drift left behind by fractional prices
  }
}
