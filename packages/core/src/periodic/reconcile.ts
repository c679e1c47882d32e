import type { BalanceClient } from '../client/client.js';
import { MeteringConfigError, MeteringError } from '../errors.js';
import type { DeliveredEvent } from '../reporting/events.js';
import { assertCustomerId } from '../intake/validation.js';
import { assertPeriod, periodOf } from './interval.js';
import { withDeadline } from '../delivery/deadline.js';
import { callWithRetry, DEFAULT_RETRY, type RetryPolicy } from '../delivery/retry.js';

/**
 * What this process has delivered, per month and customer, by the wall-clock time of delivery
 * (which is what PacSpace's `derive` for a period counts: deltas recorded in that month).
 * In memory: it covers what was delivered since the process started.
 *
 * @example
 * const tally: SentTally = createSentTally();
 * tally.total('acme', '2025-03'); // -> 0 until something is delivered
 */
export interface SentTally {
  /**
   * Adds a delivered delta, dated now. With a `referenceId`, each id counts once per month: two
   * deliveries of one referenceId (a client retry billed under the same id, answered as a replay)
   * are one delta in PacSpace, so they are one here too.
   */
  record(customerId: string, delta: number, referenceId?: string): void;
  /** A Meter `onDelivered` hook: `createMeter({ onDelivered: tally.onDelivered })`. Bound; never throws. */
  readonly onDelivered: (event: Pick<DeliveredEvent, 'customerId' | 'delta' | 'referenceId'>) => void;
  /** Net delta delivered for a customer in a month (0 when none). */
  total(customerId: string, period: string): number;
  /** Net delta per customer delivered in a month. */
  totals(period: string): Record<string, number>;
}

/**
 * Creates a {@link SentTally}. Keeps the last `keepPeriods` months (default 3).
 *
 * @example
 * const tally = createSentTally();
 * const meter = createMeter({ apiKey, onDelivered: tally.onDelivered });
 * const periodic = createPeriodicMeter({ apiKey, collect, tally });
 * await reconcile({ client, customerId: 'acme', period: '2025-03', sent: tally.total('acme', '2025-03') });
 */
export function createSentTally(options: { now?: () => number; keepPeriods?: number } = {}): SentTally {
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new MeteringConfigError('now', 'must be a function returning epoch milliseconds');
  const keep = options.keepPeriods ?? 3;
  if (!Number.isInteger(keep) || keep < 1) throw new MeteringConfigError('keepPeriods', `must be a positive integer (got ${JSON.stringify(options.keepPeriods)})`);
  const periods = new Map<string, { sums: Map<string, number>; seen: Set<string> }>();
  function record(customerId: string, delta: number, referenceId?: string): void {
    if (typeof customerId !== 'string' || typeof delta !== 'number' || !Number.isFinite(delta)) return;
    const period = periodOf(now());
    let month = periods.get(period);
    if (!month) {
      month = { sums: new Map(), seen: new Set() };
      periods.set(period, month);
      if (periods.size > keep) for (const old of [...periods.keys()].sort().slice(0, periods.size - keep)) periods.delete(old);
    }
    if (referenceId !== undefined) {
      if (month.seen.has(referenceId)) return;
      month.seen.add(referenceId);
    }
    month.sums.set(customerId, (month.sums.get(customerId) ?? 0) + delta);
  }
  return {
    record,
    onDelivered: (event) => record(event.customerId, event.delta, event.referenceId),
    total: (customerId, period) => periods.get(period)?.sums.get(customerId) ?? 0,
    totals: (period) => Object.fromEntries(periods.get(period)?.sums ?? []),
  };
}

/**
 * Options of {@link reconcile}.
 *
 * @example
 * await reconcile({ client, customerId: 'acme', period: '2025-03', sent: -1200, tolerance: 0.001 });
 */
export interface ReconcileOptions {
  /** A client with `balance.derive(customerId, { period })`: the built-in one or the SDK's. */
  client: BalanceClient;
  customerId: string;
  /** The month, `YYYY-MM` (UTC). */
  period: string;
  /** What the app believes it sent for this customer in this month (e.g. `tally.total(...)`). */
  sent: number;
  /** Largest |derived - sent| still called a match (float sums). Default: 1e-6. */
  tolerance?: number;
  /** Retries of the derive call. Default: 3 attempts, 500 ms first step. */
  retry?: Partial<RetryPolicy>;
  /** Per-attempt deadline. Default: 30000 ms. */
  attemptTimeoutMs?: number;
}

/**
 * What {@link reconcile} found.
 *
 * @example
 * const { derived, sent, difference, matches }: ReconciliationReport = await reconcile({ client, customerId: 'acme', period: '2025-03', sent: -1200 });
 */
export interface ReconciliationReport {
  customerId: string;
  period: string;
  /** What the app believes it sent. */
  sent: number;
  /** What PacSpace's derive says (`computedBalance`) for the month. */
  derived: number;
  /** Deltas PacSpace counted (`deltasCount`), when it says. */
  deltasCount: number | undefined;
  /** `derived - sent`: positive means PacSpace has more than the app believes it sent. */
  difference: number;
  matches: boolean;
  /** The derive answer as received. */
  derive: Record<string, unknown>;
}

/**
 * Compares what the app believes it sent for a customer and month with what PacSpace's ledger
 * says (`balance.derive(customerId, { period })`, its `computedBalance`). PacSpace counts a delta in
 * the month it was recorded, so compare with a tally by delivery time ({@link createSentTally}); a
 * delta delivered across midnight at the month's end can land on either side. The derive call is a
 * read and is retried on transient errors.
 *
 * @example
 * const report = await reconcile({ client, customerId: 'acme', period: '2025-03', sent: tally.total('acme', '2025-03') });
 * if (!report.matches) alert(`acme 2025-03: PacSpace has ${report.derived}, we sent ${report.sent}`);
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconciliationReport> {
  const { client, customerId, period, sent } = options;
  assertCustomerId(customerId);
  assertPeriod(period);
  if (typeof sent !== 'number' || !Number.isFinite(sent)) throw new MeteringConfigError('sent', `must be a finite number (got ${JSON.stringify(sent)})`);
  const tolerance = options.tolerance ?? 1e-6;
  const derive = client?.balance?.derive;
  if (typeof derive !== 'function') throw new MeteringError('UNSUPPORTED', 'the client has no balance.derive(customerId, options); pass the built-in client (apiKey/baseUrl) or an SDK client that has it');
  const policy: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 3, baseDelayMs: 500, ...options.retry };
  const { value } = await callWithRetry(() => withDeadline(() => derive.call(client.balance, customerId, { period }), options.attemptTimeoutMs ?? 30_000, `/api/v1/balance/derive/${customerId}`), {
    policy,
    random: Math.random,
    keepAlive: true,
  });
  const answer = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const derived = firstNumber(answer.computedBalance, answer.balance);
  if (derived === undefined) throw new MeteringError('API_ERROR', 'the derive answer has no computedBalance');
  const difference = derived - sent;
  return {
    customerId,
    period,
    sent,
    derived,
    deltasCount: firstNumber(answer.deltasCount, answer.deltaCount),
    difference,
    matches: Math.abs(difference) <= tolerance,
    derive: answer,
  };
}

function firstNumber(...values: unknown[]): number | undefined {
  for (const value of values) if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}
