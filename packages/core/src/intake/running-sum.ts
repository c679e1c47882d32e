/**
 * A Neumaier-compensated running sum: `sum + compensation` is the total, without the drift of
 * adding 0.1 a million times. Aggregates and overflow sums keep one each.
 *
 * @example
 * const total: RunningSum = { sum: 0, compensation: 0 };
 * for (let i = 0; i < 10; i++) addToSum(total, 0.1);
 * totalOf(total); // 1
 */
export interface RunningSum {
  sum: number;
  compensation: number;
}

/** Adds `value` to `total` in place. */
export function addToSum(total: RunningSum, value: number): void {
  const sum = total.sum + value;
  total.compensation += Math.abs(total.sum) >= Math.abs(value) ? total.sum - sum + value : value - sum + total.sum;
  total.sum = sum;
}

/** The compensated total. */
export function totalOf(total: RunningSum): number {
  return total.sum + total.compensation;
}
