import { MeteringConfigError } from '../errors.js';

/**
 * Milliseconds in a UTC day. Every interval divides it, so windows line up with UTC midnight.
 *
 * @example
 * 86_400_000 % parseInterval('6h') === 0; // true: every interval divides DAY_MS
 */
export const DAY_MS = 86_400_000;

/**
 * A window length: milliseconds, or a label such as `'30s'`, `'1m'`, `'15m'`, `'1h'`, `'6h'`,
 * `'24h'` (also `'1d'`). It must be a whole number of seconds that divides 24 hours.
 *
 * @example
 * const hourly: IntervalSpec = '1h';
 * const ninetySeconds: IntervalSpec = 90_000;
 */
export type IntervalSpec = number | `${number}s` | `${number}m` | `${number}h` | '1d';

/**
 * A half-open time window `[start, end)` in epoch milliseconds.
 *
 * @example
 * const window: TimeWindow = { start: Date.UTC(2025, 2, 1, 13), end: Date.UTC(2025, 2, 1, 14) };
 */
export interface TimeWindow {
  /** Inclusive start, epoch ms. */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
}

const LABEL = /^(\d{1,5})(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

/**
 * Parses and checks an interval. Throws {@link MeteringConfigError} naming `option` unless it is
 * a whole number of seconds from 1 s to 24 h that divides 24 h (so windows align to UTC midnight
 * and never straddle a day or a month).
 *
 * @example
 * parseInterval('6h'); // -> 21600000
 * parseInterval(90_000); // -> 90000 (divides 24 h)
 * parseInterval('7h'); // throws MeteringConfigError { option: 'interval' }
 */
export function parseInterval(spec: unknown, option = 'interval'): number {
  let ms: number | undefined;
  if (typeof spec === 'number') ms = spec;
  else if (typeof spec === 'string') {
    const match = LABEL.exec(spec);
    if (match) ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  if (ms === undefined || !Number.isInteger(ms) || ms < 1000 || ms > DAY_MS || ms % 1000 !== 0 || DAY_MS % ms !== 0) {
    throw new MeteringConfigError(
      option,
      `must be a whole number of seconds from 1 s to 24 h that divides 24 h, as milliseconds or a label like '1m', '15m', '1h', '6h', '24h' (got ${JSON.stringify(spec)})`,
    );
  }
  return ms;
}

/**
 * The window of length `intervalMs` that contains `at`, aligned to UTC boundaries
 * (`start = floor(at / intervalMs) * intervalMs`).
 *
 * @example
 * windowContaining(Date.UTC(2025, 2, 1, 13, 25), 3_600_000);
 * // -> { start: Date.UTC(2025, 2, 1, 13), end: Date.UTC(2025, 2, 1, 14) }
 */
export function windowContaining(at: number, intervalMs: number): TimeWindow {
  const start = Math.floor(at / intervalMs) * intervalMs;
  return { start, end: start + intervalMs };
}

/**
 * The window that starts at `start` and ends at the next interval boundary after it. For an aligned
 * `start` this is one full interval; for an unaligned one (the interval changed between runs) it is
 * a shorter bridge window, so windows still never overlap and never leave a gap.
 *
 * @example
 * windowFrom(Date.UTC(2025, 2, 1, 13), 3_600_000); // -> [13:00, 14:00)
 * windowFrom(Date.UTC(2025, 2, 1, 13), 21_600_000); // -> [13:00, 18:00), a bridge to the 6 h grid
 */
export function windowFrom(start: number, intervalMs: number): TimeWindow {
  return { start, end: Math.floor(start / intervalMs) * intervalMs + intervalMs };
}

/**
 * A UTC instant in compact ISO 8601 basic form, safe in referenceIds: `20250301T130000Z`
 * (milliseconds appended as `.500` only when not zero).
 *
 * @example
 * compactUtc(Date.UTC(2025, 2, 1, 13)); // -> '20250301T130000Z'
 */
export function compactUtc(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2025-03-01T13:00:00.000Z
  const millis = iso.slice(20, 23);
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${millis === '000' ? '' : `.${millis}`}Z`;
}

/**
 * The stable name of a window, used in every referenceId and Idempotency-Key derived from it:
 * `{start, compact UTC}.{length in seconds}s`, e.g. `20250301T130000Z.3600s`. It depends only on
 * the window, never on when it is sent.
 *
 * @example
 * windowKey({ start: Date.UTC(2025, 2, 1, 13), end: Date.UTC(2025, 2, 1, 14) }); // -> '20250301T130000Z.3600s'
 */
export function windowKey(window: TimeWindow): string {
  return `${compactUtc(window.start)}.${Math.round((window.end - window.start) / 1000)}s`;
}

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/**
 * The UTC calendar month (`YYYY-MM`) that contains `at`.
 *
 * @example
 * periodOf(Date.UTC(2025, 2, 31, 23, 59)); // -> '2025-03'
 */
export function periodOf(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}

/** True when `value` is a month written `YYYY-MM`. @example isPeriod('2025-03'); // -> true */
export function isPeriod(value: unknown): value is string {
  return typeof value === 'string' && PERIOD.test(value);
}

/**
 * Throws {@link MeteringConfigError} naming `option` unless `value` is a month written `YYYY-MM`.
 *
 * @example
 * assertPeriod('2025-13'); // throws MeteringConfigError { option: 'period' }
 */
export function assertPeriod(value: unknown, option = 'period'): asserts value is string {
  if (!isPeriod(value)) throw new MeteringConfigError(option, `must be a month written YYYY-MM, e.g. '2025-03' (got ${JSON.stringify(value)})`);
}

/**
 * The half-open range `[first instant of the month, first instant of the next month)` in UTC.
 *
 * @example
 * periodBounds('2025-12'); // -> { start: Date.UTC(2025, 11, 1), end: Date.UTC(2026, 0, 1) }
 */
export function periodBounds(period: string): TimeWindow {
  assertPeriod(period);
  const year = Number(period.slice(0, 4));
  const month = Number(period.slice(5, 7)) - 1;
  return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
}
