import type { DeriveScope } from '../client/client.js';
import { MeteringConfigError } from '../errors.js';
import type { MeteringLogger } from '../reporting/logger.js';
import { assertKnownOptions, int, oneOf } from '../options.js';

/**
 * What the gate does with a call when PacSpace cannot be asked for the customer's balance (down,
 * slower than `waitMs`, refusing the key) and no cached balance younger than `maxStaleMs` exists:
 * `'serve'` runs it unchecked, `'refuse'` answers 503. Either way the decision is counted and
 * reported.
 *
 * @example
 * createBalanceGate(meter, { whenUnavailable: 'refuse' });
 */
export type WhenUnavailable = 'serve' | 'refuse';

/**
 * Options of `createBalanceGate(meter, options)`. All optional.
 *
 * @example
 * const gate = createBalanceGate(meter, { ttlMs: 2_000, whenUnavailable: 'serve', maxCustomers: 50_000 });
 */
export interface BalanceGateOptions {
  /** How long a derived balance is fresh. Older, it is still used while one refresh runs in the background (stale-while-revalidate). Default `5000` ms. */
  ttlMs?: number | undefined;
  /** How old a derived balance may be and still decide a call while PacSpace cannot be asked. Default `300000` ms (5 minutes). */
  maxStaleMs?: number | undefined;
  /** How long a call with no usable balance (a customer's first call) waits for PacSpace before `whenUnavailable` decides. Default `2000` ms. */
  waitMs?: number | undefined;
  /** See {@link WhenUnavailable}. Default `'serve'`. */
  whenUnavailable?: WhenUnavailable | undefined;
  /** Customers whose balance is kept (least recently checked ones are forgotten first; never one with a call under way). Default `10000`. */
  maxCustomers?: number | undefined;
  /**
   * Which deltas derive sums: PacSpace's derive defaults to the current UTC month, which would
   * forget last month's top-ups. Default: the last 12 UTC months (`startDate` the first day of the
   * month 11 months back, `endDate` the first day of next month: the SDK's `deriveMonthsBack(id, 12)`
   * range, and the sandbox's widest scope), with `limit: 1`. A function gets the time.
   */
  deriveScope?: DeriveScope | ((now: number) => DeriveScope) | undefined;
  /**
   * For fleets: what the other instances have queued for the customer and not delivered (e.g.
   * `store.undeliveredByOthers` of `@pacspace-metering/postgres-store`), asked once per balance
   * refresh, alongside derive. Default: none (other instances' usage is seen once PacSpace counts it).
   */
  fleetPending?: ((customerId: string) => Promise<number>) | undefined;
  /**
   * For a client that cannot read a delta's status: how long a delivered delta is still counted
   * before the gate assumes PacSpace counts it. Also the longest any delivered delta is held.
   * Default `60000` ms (PacSpace verifies 95% within 30 s).
   */
  holdDeliveredMs?: number | undefined;
  /** Where refusals of service and failures to read a balance are reported. Default: the default reporter (stderr, each kind at most once a minute, then a count). */
  logger?: MeteringLogger | undefined;
  /** Clock, for tests. Default `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * Every option of {@link BalanceGateOptions}, for documentation checks.
 *
 * @example
 * BALANCE_GATE_OPTION_NAMES.includes('ttlMs'); // true
 */
export const BALANCE_GATE_OPTION_NAMES: ReadonlyArray<keyof BalanceGateOptions> = Object.freeze([
  'ttlMs', 'maxStaleMs', 'waitMs', 'whenUnavailable', 'maxCustomers', 'deriveScope', 'fleetPending', 'holdDeliveredMs', 'logger', 'now',
] as const);

/** The options with defaults applied. */
export interface BalanceGateConfig {
  ttlMs: number;
  maxStaleMs: number;
  waitMs: number;
  whenUnavailable: WhenUnavailable;
  maxCustomers: number;
  deriveScope: (now: number) => DeriveScope;
  fleetPending: ((customerId: string) => Promise<number>) | undefined;
  holdDeliveredMs: number;
  now: () => number;
}

/** Checks the options; throws {@link MeteringConfigError} naming the bad one. */
export function resolveGateConfig(options: BalanceGateOptions): BalanceGateConfig {
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object');
  assertKnownOptions(options, BALANCE_GATE_OPTION_NAMES, '');
  for (const fn of ['fleetPending', 'now'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') throw new MeteringConfigError(fn, 'must be a function');
  }
  if (options.logger !== undefined && !['debug', 'info', 'warn', 'error'].every((l) => typeof (options.logger as unknown as Record<string, unknown>)?.[l] === 'function')) {
    throw new MeteringConfigError('logger', 'must have debug, info, warn and error methods (pino-compatible)');
  }
  const scope = options.deriveScope;
  if (scope !== undefined && typeof scope !== 'function' && (scope === null || typeof scope !== 'object')) {
    throw new MeteringConfigError('deriveScope', 'must be an object of derive parameters ({ period } or { startDate, endDate }) or a function of the time returning one');
  }
  const ttlMs = int(options.ttlMs, 5000, 'ttlMs', 1, 3_600_000);
  const config: BalanceGateConfig = {
    ttlMs,
    maxStaleMs: int(options.maxStaleMs, 300_000, 'maxStaleMs', 0, 86_400_000),
    waitMs: int(options.waitMs, 2000, 'waitMs', 0, 60_000),
    whenUnavailable: oneOf(options.whenUnavailable, 'serve', ['serve', 'refuse'], 'whenUnavailable'),
    maxCustomers: int(options.maxCustomers, 10_000, 'maxCustomers', 1),
    deriveScope: typeof scope === 'function' ? scope : scope === undefined ? lastTwelveMonths : () => scope,
    fleetPending: options.fleetPending,
    holdDeliveredMs: int(options.holdDeliveredMs, 60_000, 'holdDeliveredMs', 0, 86_400_000),
    now: options.now ?? Date.now,
  };
  if (config.maxStaleMs < ttlMs) throw new MeteringConfigError('maxStaleMs', `must be at least ttlMs (${ttlMs})`);
  return config;
}

/**
 * The default derive scope: the 12 UTC months up to the end of this one, with a one-delta page.
 *
 * @example
 * lastTwelveMonths(Date.UTC(2025, 2, 14)); // { startDate: '2024-04-01T00:00:00.000Z', endDate: '2025-04-01T00:00:00.000Z', limit: 1 }
 */
export function lastTwelveMonths(now: number): DeriveScope {
  const d = new Date(now);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  return { startDate: new Date(Date.UTC(year, month - 11, 1)).toISOString(), endDate: new Date(Date.UTC(year, month + 1, 1)).toISOString(), limit: 1 };
}
