import type { BatchDelta } from '../client/client.js';
import { DeltaValidationError, MeteringError } from '../errors.js';
import { assertCustomerId, assertDelta, assertMetadata, assertReason } from '../intake/validation.js';
import { windowKey, type TimeWindow } from './interval.js';
import { snapshotReferenceId } from './keys.js';

/**
 * One customer's usage in one window, as `collect` returns it.
 *
 * @example
 * const snapshot: UsageSnapshot = { customerId: 'acme', delta: -12.5, reason: 'storage_gb_hours', metadata: { region: 'eu' } };
 */
export interface UsageSnapshot {
  /** Who pays: 1-128 characters of `[A-Za-z0-9_.:-]`. */
  customerId: string;
  /** The window's net balance change (negative consumes). 0 means no usage: the snapshot is skipped. */
  delta: number;
  /** Why, e.g. `storage_gb_hours`. At most one snapshot per (customerId, reason) per window. */
  reason: string;
  /** Free key/value map; `windowStart` and `windowEnd` (ISO) are added. Must serialize to JSON. */
  metadata?: Record<string, unknown>;
}

/**
 * A window's items, ready to send: validated, frozen (deep-copied), sorted, with their referenceIds.
 *
 * @example
 * const { items, skipped }: PreparedWindow = prepareWindow(snapshots, { scope: 'billing', name: 'periodic', window });
 */
export interface PreparedWindow {
  items: Array<BatchDelta & { referenceId: string }>;
  /** Snapshots with delta 0, left out. */
  skipped: number;
}

/**
 * Validates what `collect` returned for a window and turns it into batch items: each gets the
 * window-derived referenceId ({@link snapshotReferenceId}) and `windowStart`/`windowEnd` metadata,
 * is deep-copied through JSON (so later changes by the caller cannot alter what is sent or
 * persisted), and the list is sorted by (customerId, reason) in code-unit order, so the same
 * snapshots in any order give the same items and therefore the same chunks.
 *
 * Throws a {@link MeteringError} (`INVALID_SNAPSHOT`, or `DUPLICATE_SNAPSHOT` when two snapshots
 * share a customer and reason) naming the snapshot; zero deltas are skipped.
 *
 * @example
 * prepareWindow([{ customerId: 'b', delta: -3, reason: 'gb' }, { customerId: 'a', delta: -1, reason: 'gb' }], { scope: 's', name: 'periodic', window });
 * // -> { items: [{ customerId: 'a', ... }, { customerId: 'b', ... }], skipped: 0 }
 */
export function prepareWindow(snapshots: unknown, context: { scope: string; name: string; window: TimeWindow }): PreparedWindow {
  if (!Array.isArray(snapshots)) throw new MeteringError('INVALID_SNAPSHOT', `collect must return an array of usage snapshots (got ${snapshots === null ? 'null' : typeof snapshots})`);
  const key = windowKey(context.window);
  const windowMeta = { windowStart: new Date(context.window.start).toISOString(), windowEnd: new Date(context.window.end).toISOString() };
  const items: PreparedWindow['items'] = [];
  const seen = new Set<string>();
  let skipped = 0;
  snapshots.forEach((snapshot: unknown, index) => {
    const at = `snapshots[${index}]`;
    try {
      if (snapshot === null || typeof snapshot !== 'object') throw new DeltaValidationError(at, 'must be an object with customerId, delta and reason');
      const { customerId, delta, reason, metadata } = snapshot as Record<string, unknown>;
      assertCustomerId(customerId, `${at}.customerId`);
      assertReason(reason, `${at}.reason`);
      assertMetadata(metadata, `${at}.metadata`);
      if (delta === 0) {
        skipped++;
        return;
      }
      assertDelta(delta, `${at}.delta`);
      const pair = `${customerId}\u0000${reason}`;
      if (seen.has(pair)) {
        throw new MeteringError('DUPLICATE_SNAPSHOT', `${at}: a second snapshot for customer ${JSON.stringify(customerId)} and reason ${JSON.stringify(reason)} in window ${key}; return one snapshot per (customerId, reason), summed`);
      }
      seen.add(pair);
      let frozen: Record<string, unknown>;
      try {
        frozen = JSON.parse(JSON.stringify({ ...(metadata as Record<string, unknown> | undefined), ...windowMeta })) as Record<string, unknown>;
      } catch (cause) {
        throw new DeltaValidationError(`${at}.metadata`, `must serialize to JSON (${(cause as Error).message})`, { cause });
      }
      items.push({ customerId, delta, reason, referenceId: snapshotReferenceId({ scope: context.scope, name: context.name, windowKey: key, customerId, reason }), metadata: frozen });
    } catch (err) {
      if (err instanceof DeltaValidationError) throw new MeteringError('INVALID_SNAPSHOT', `collect returned an invalid snapshot for window ${key}: ${err.message}`, { cause: err });
      throw err;
    }
  });
  items.sort(compareItems);
  return { items, skipped };
}

/** Code-unit order by customerId, then reason: locale-independent, so every machine sorts alike. */
function compareItems(a: BatchDelta, b: BatchDelta): number {
  if (a.customerId !== b.customerId) return a.customerId < b.customerId ? -1 : 1;
  if (a.reason !== b.reason) return a.reason < b.reason ? -1 : 1;
  return 0;
}

/**
 * Splits items into consecutive chunks of at most `size` (the batch endpoint takes 100). Sizes are
 * as even as possible (250 items at 100 -> 84, 83, 83), and depend only on the item count, so the
 * same sorted items always give the same chunks.
 *
 * @example
 * chunk([1, 2, 3, 4, 5], 2); // -> [[1, 2], [3, 4], [5]] (3 chunks of at most 2: 2, 2, 1)
 */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (items.length === 0) return [];
  const count = Math.ceil(items.length / size);
  const base = Math.floor(items.length / count);
  const extra = items.length % count;
  const chunks: T[][] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = base + (i < extra ? 1 : 0);
    chunks.push(items.slice(offset, offset + length));
    offset += length;
  }
  return chunks;
}
