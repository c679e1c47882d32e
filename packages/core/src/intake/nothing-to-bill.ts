/**
 * The answer any resolver (customerId, delta, a list of deltas) may give when a call consumed
 * nothing billable: a cache hit, an empty result. The delta is not billed and not dropped: it is
 * counted in `stats().skipped.nothing_to_bill`, logged at debug, and never a health problem.
 * A registered symbol, so two copies of the package (ESM and CommonJS) agree on it.
 *
 * @example
 * meterRequests(meter, { customerId: (req) => req.user.id, delta: (req, res) => (res.locals.cached ? NOTHING_TO_BILL : -1) });
 */
export const NOTHING_TO_BILL: unique symbol = Symbol.for('pacspace-metering.nothing-to-bill');

/**
 * The type of {@link NOTHING_TO_BILL}.
 *
 * @example
 * const delta: number | NothingToBill = cached ? NOTHING_TO_BILL : -tokens;
 */
export type NothingToBill = typeof NOTHING_TO_BILL;

/**
 * Why a delta was not billed though nothing went wrong: `zero_delta` (an amount of exactly 0),
 * `nothing_to_bill` (a resolver answered {@link NOTHING_TO_BILL}), `already_billed` (an
 * operation id this process already billed, see `meterOperation`).
 *
 * @example
 * const cause: SkipCause = 'zero_delta';
 */
export type SkipCause = 'zero_delta' | 'nothing_to_bill' | 'already_billed';

/**
 * Every {@link SkipCause}, for validation and exhaustive reports.
 *
 * @example
 * SKIP_CAUSES.includes('zero_delta'); // true
 */
export const SKIP_CAUSES: readonly SkipCause[] = Object.freeze(['zero_delta', 'nothing_to_bill', 'already_billed']);

/**
 * True when `value` is {@link NOTHING_TO_BILL}.
 *
 * @example
 * if (isNothingToBill(answer)) meter.skip('nothing_to_bill', { customerId, reason });
 */
export function isNothingToBill(value: unknown): value is NothingToBill {
  return value === NOTHING_TO_BILL;
}

/**
 * The skip cause of a resolver's answer, or undefined when it is something to bill (or to refuse):
 * {@link NOTHING_TO_BILL} is `nothing_to_bill`, exactly `0` is `zero_delta`.
 *
 * @example
 * skipCauseOf(0); // 'zero_delta'
 */
export function skipCauseOf(value: unknown): SkipCause | undefined {
  if (value === NOTHING_TO_BILL) return 'nothing_to_bill';
  return value === 0 ? 'zero_delta' : undefined;
}
