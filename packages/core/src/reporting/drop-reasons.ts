import type { DropReason } from './events.js';

/**
 * Every drop reason, in one list: the metrics report each from the start (0 until it happens),
 * because a series that first appears at 1 is invisible to `increase()`-style alerts. The record
 * type makes the list fail to compile when a reason is added to `DropReason`.
 *
 * @example
 * for (const reason of DROP_REASONS) console.log(reason, meter.stats().dropped[reason] ?? 0);
 */
export const DROP_REASONS = Object.keys({
  invalid: true, queue_full: true, too_large: true, closed: true, store_failed: true, rejected: true,
  unauthorized: true, integrity: true, max_attempts: true, max_elapsed: true, shutdown: true,
} satisfies Record<DropReason, true>) as DropReason[];
