import { DeltaValidationError, MeteringConfigError, type PacSpaceApiError } from '../errors.js';
import { resolveLogger, type MeteringLogger } from '../reporting/logger.js';
import type { Meter } from '../meter-api.js';
import { assertCustomerId } from '../intake/validation.js';
import type { MeterBalanceSource } from './balance-source.js';
import { BalanceCheck } from './balance-check.js';
import { CustomerBalances, type CustomerBalance } from './customer-balances.js';
import { DeliveredHolds, MAX_HOLD_MS } from './delivered-holds.js';
import { resolveGateConfig, type BalanceGateConfig, type BalanceGateOptions, type WhenUnavailable } from './gate-options.js';
import { newGateStats, type BalanceGateStats } from './gate-stats.js';
import { readBalance } from './read-balance.js';

/**
 * Decides, before the work, whether a customer's balance covers a call's price. From
 * {@link createBalanceGate}; the framework packages wrap it (`requireBalance()` for Express,
 * `@RequireBalance()` for Nest).
 *
 * @example
 * const check = await gate.check('acme', 1);
 */
export interface BalanceGate {
  /**
   * Decides about one call of `customerId` costing `price` (a finite number ≥ 0, in the units the
   * Meter bills: a call billed `delta: -5` costs 5). Answers at once (no Promise) when a balance is
   * cached; otherwise waits for PacSpace up to `waitMs`. An allowed call's price is reserved until
   * `check.release()`. Throws a {@link DeltaValidationError} naming `customerId` or `price` for a
   * value that cannot be checked (counted in `invalid`); never rejects.
   */
  check(customerId: string, price: number): BalanceCheck | Promise<BalanceCheck>;
  /** Counters and gauges. */
  stats(): BalanceGateStats;
  /** The gated Meter's `scope`: what the metrics exporters label the gate's figures with. */
  readonly scope: string;
  /** What the gate does when PacSpace cannot be asked. */
  readonly whenUnavailable: WhenUnavailable;
  /** Where the gate reports (its `logger` option, else the default reporter); the framework packages report their own hooks' failures here. */
  readonly logger: MeteringLogger;
  /** Stops following the Meter's deliveries. Checks still answer (from what is cached, then by `whenUnavailable`). */
  close(): void;
}

/** Floating-point slack when comparing a balance with a price (ten calls of 0.1 cover a balance of 1). */
const EPSILON = 1e-9;

/**
 * Creates a balance gate over a Meter: it admits a call when the customer's available balance
 * covers its price, where available = PacSpace's derived balance + what this process billed that
 * PacSpace has not counted yet (queued, in flight, folded, delivered but not yet verified) + other
 * instances' undelivered usage (`fleetPending`) − the prices of calls let through and still running.
 *
 * Balances are cached per customer (`ttlMs`, stale-while-revalidate, `maxCustomers` LRU) with at
 * most one PacSpace read per customer at a time: a thousand concurrent calls of one customer cause
 * one derive. Reads use the Meter's client (its key, its base URL) under the Meter's
 * `attemptTimeoutMs`. When no balance younger than `maxStaleMs` can be had, `whenUnavailable`
 * decides ('serve' by default); every such decision is counted and reported through `logger`.
 *
 * Throws a {@link MeteringConfigError} naming a bad option, or when the Meter cannot be gated (an
 * aggregating meter, or a client without `balance.derive`).
 *
 * @example
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * const gate = createBalanceGate(meter, { ttlMs: 5_000 });
 * app.use(requireBalance(gate, { customerId: (req) => req.user?.accountId, price: 1 }));
 */
export function createBalanceGate(meter: Meter, options: BalanceGateOptions = {}): BalanceGate {
  const config = resolveGateConfig(options);
  if (meter === null || typeof meter !== 'object' || typeof meter.balanceSource !== 'function') {
    throw new MeteringConfigError('meter', 'must be a Meter from createMeter() (an aggregating meter holds sums the gate cannot see: gate the Meter under it)');
  }
  const source = meter.balanceSource();
  if (source.derive === undefined && !source.dryRun) {
    throw new MeteringConfigError('meter', "the Meter's client has no balance.derive(customerId, options): pass the built-in client (apiKey/baseUrl) or an SDK client that has it");
  }
  return new Gate(meter.scope, source, config, resolveLogger(options.logger));
}

class Gate implements BalanceGate {
  private readonly counters = newGateStats();
  private readonly balances: CustomerBalances;
  private readonly holds: DeliveredHolds;
  private readonly stopFollowing: () => void;
  private readonly holdMs: number;

  constructor(
    readonly scope: string,
    private readonly source: MeterBalanceSource,
    private readonly config: BalanceGateConfig,
    readonly logger: MeteringLogger,
  ) {
    this.balances = new CustomerBalances(config.maxCustomers, this.counters);
    this.holds = new DeliveredHolds(this.counters);
    this.holdMs = source.deltaStatus === undefined ? config.holdDeliveredMs : MAX_HOLD_MS;
    this.stopFollowing = source.onDelivered((usage) => this.holds.hold(usage, this.holdMs));
    if (source.dryRun) logger.warn({}, 'pacspace-metering: the balance gate lets every call through: the Meter is a dry run (enabled: false), there is no balance to check');
  }

  get whenUnavailable(): WhenUnavailable {
    return this.config.whenUnavailable;
  }

  check(customerId: string, price: number): BalanceCheck | Promise<BalanceCheck> {
    const c = this.counters;
    c.checks++;
    this.assertCheckable(customerId, price);
    if (this.source.dryRun || price === 0) {
      c.allowed++;
      return new BalanceCheck(true, this.source.dryRun ? 'dry_run' : 'covered', customerId, price, null);
    }
    const at = this.config.now();
    const entry = this.balances.touch(customerId);
    if (entry.derived !== undefined) {
      const age = at - entry.derivedAt;
      if (age < this.config.ttlMs) {
        c.cacheHits++;
        return this.decide(entry, price);
      }
      this.refresh(entry, at);
      if (age <= this.config.maxStaleMs) {
        c.staleReads++;
        return this.decide(entry, price);
      }
    } else {
      this.refresh(entry, at);
    }
    // Nothing usable: wait for the read under way, if any, at most `waitMs`.
    if (entry.refreshing === undefined || this.config.waitMs === 0) return this.decide(entry, price);
    c.waited++;
    return this.waitFor(entry).then(() => this.decide(entry, price));
  }

  stats(): BalanceGateStats {
    return { ...this.counters, customers: this.balances.size, heldDeliveries: this.holds.size };
  }

  close(): void {
    this.stopFollowing();
  }

  private assertCheckable(customerId: string, price: number): void {
    try {
      assertCustomerId(customerId);
      if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) {
        throw new DeltaValidationError('price', `must be a finite number of at least 0, what the call costs (got ${String(price)})`);
      }
    } catch (err) {
      this.counters.invalid++;
      this.logger.warn({ err }, 'pacspace-metering: the balance gate was given a call it cannot check');
      throw err;
    }
  }

  /** The decision from what is known now: the cached balance if young enough, else `whenUnavailable`. */
  private decide(entry: CustomerBalance, price: number): BalanceCheck {
    const c = this.counters;
    const { customerId } = entry;
    if (entry.derived === undefined || this.config.now() - entry.derivedAt > this.config.maxStaleMs) return this.unavailable(entry, price);
    const balance = entry.derived + entry.fleet + this.source.unsettled(customerId) + this.holds.sum(customerId) - entry.reserved;
    if (balance + EPSILON < price) {
      c.refused++;
      return new BalanceCheck(false, 'insufficient_balance', customerId, price, balance);
    }
    c.allowed++;
    return this.reserve(entry, price, 'covered', balance);
  }

  private unavailable(entry: CustomerBalance, price: number): BalanceCheck {
    const { customerId } = entry;
    if (this.config.whenUnavailable === 'refuse') {
      this.counters.unavailableRefused++;
      this.logger.warn({ customerId }, 'pacspace-metering: the balance gate refused a call: PacSpace could not be asked for the balance and none was cached (whenUnavailable: refuse)');
      return new BalanceCheck(false, 'balance_unavailable', customerId, price, null);
    }
    this.counters.unavailableServed++;
    this.logger.warn({ customerId }, 'pacspace-metering: the balance gate served a call unchecked: PacSpace could not be asked for the balance and none was cached (whenUnavailable: serve)');
    return this.reserve(entry, price, 'balance_unavailable', null);
  }

  private reserve(entry: CustomerBalance, price: number, reason: 'covered' | 'balance_unavailable', balance: number | null): BalanceCheck {
    entry.reserved += price;
    entry.running++;
    this.counters.running++;
    return new BalanceCheck(true, reason, entry.customerId, price, balance, entry);
  }

  /** Resolves when the read under way ends or `waitMs` passes, whichever is first. */
  private waitFor(entry: CustomerBalance): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.config.waitMs);
      timer.unref();
      entry.refreshing!.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Starts one read of the customer's balance, unless one is under way or the last failed within `ttlMs`. */
  private refresh(entry: CustomerBalance, at: number): void {
    if (entry.refreshing !== undefined || at - entry.failedAt < this.config.ttlMs) return;
    this.counters.readsInFlight++;
    entry.refreshing = this.read(entry, at).finally(() => {
      entry.refreshing = undefined;
      this.counters.readsInFlight--;
    });
  }

  /** Lets go of delivered deltas PacSpace counts, then derives (and asks the fleet). Never rejects. */
  private async read(entry: CustomerBalance, startedAt: number): Promise<void> {
    const { customerId } = entry;
    const timeoutMs = this.source.timeoutMs;
    // Delivery times are on the Meter's clock.
    const letGoOfCounted = await this.holds.confirm(customerId, this.source, this.source.now(), this.holdMs, timeoutMs);
    const fleet = this.readFleet(customerId);
    this.counters.deriveCalls++;
    try {
      const { balance, unknownCustomer } = await readBalance(this.source, customerId, this.config.deriveScope(startedAt), timeoutMs);
      if (unknownCustomer) this.logger.warn({ customerId }, 'pacspace-metering: PacSpace does not know this customer (derive answered 404); the balance gate takes its balance as 0');
      entry.fleet = (await fleet) ?? entry.fleet;
      // In one turn: the new balance includes what is let go of.
      letGoOfCounted();
      entry.derived = balance;
      entry.derivedAt = startedAt;
    } catch (err) {
      this.counters.deriveFailures++;
      entry.failedAt = this.config.now();
      const status = (err as PacSpaceApiError)?.status;
      const level = status === 401 || status === 403 ? 'error' : 'warn';
      this.logger[level]({ customerId, err }, 'pacspace-metering: the balance gate could not read a balance from PacSpace');
    }
  }

  /** Other instances' undelivered usage for the customer, or undefined (reported) when it cannot be read. */
  private async readFleet(customerId: string): Promise<number | undefined> {
    const { fleetPending } = this.config;
    if (fleetPending === undefined) return 0;
    this.counters.fleetReads++;
    try {
      const pending = await fleetPending(customerId);
      if (typeof pending !== 'number' || !Number.isFinite(pending)) throw new TypeError(`fleetPending answered ${String(pending)}, not a finite number`);
      return pending;
    } catch (err) {
      this.counters.fleetFailures++;
      this.logger.warn({ customerId, err }, "pacspace-metering: the balance gate could not read the other instances' undelivered usage (fleetPending); it keeps the last value");
      return undefined;
    }
  }
}
