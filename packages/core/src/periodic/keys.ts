import { buildReferenceId, segment } from '../intake/reference-id.js';
import { compactUtc } from './interval.js';

/**
 * The referenceId of one snapshot of a periodic window:
 * `{scope}:{reason}:{customerId}:{name}.{windowKey}`, e.g.
 * `billing:storage_gb_hours:acme:periodic.20250301T130000Z.3600s`. Built with
 * {@link buildReferenceId}, so every segment is plain or hashed, and the id is the same on every
 * attempt, every round and every restart: it depends on the window, never on the send time.
 *
 * @example
 * snapshotReferenceId({ scope: 'billing', name: 'periodic', windowKey: '20250301T130000Z.3600s', customerId: 'acme', reason: 'storage' });
 * // -> 'billing:storage:acme:periodic.20250301T130000Z.3600s'
 */
export function snapshotReferenceId(parts: { scope: string; name: string; windowKey: string; customerId: string; reason: string }): string {
  return buildReferenceId({ scope: parts.scope, operation: parts.reason, customerId: parts.customerId, requestId: `${parts.name}.${parts.windowKey}` });
}

/**
 * The Idempotency-Key of one chunk of a window's batch:
 * `{scope}:{name}:batch:{windowKey}:r{round}.{index + 1}of{count}`, e.g.
 * `billing:periodic:batch:20250301T130000Z.3600s:r0.2of3`. Five segments, so it can never equal a
 * four-segment delta referenceId. `round` only changes when items failed inside a 2xx answer
 * (whose stored replay would repeat the failure), see the README.
 *
 * @example
 * batchKey({ scope: 'billing', name: 'periodic', windowKey: '20250301T130000Z.3600s', round: 0, index: 1, count: 3 });
 * // -> 'billing:periodic:batch:20250301T130000Z.3600s:r0.2of3'
 */
export function batchKey(parts: { scope: string; name: string; windowKey: string; round: number; index: number; count: number }): string {
  return `${segment(parts.scope)}:${segment(parts.name)}:batch:${parts.windowKey}:r${parts.round}.${parts.index + 1}of${parts.count}`;
}

/**
 * The Idempotency-Key of a checkpoint: `{scope}:checkpoint:{period}:customer:{customerId}`, or
 * `{scope}:checkpoint:{period}:all:customers` for every customer. The same scope and period always
 * give the same key, so a retried or repeated checkpoint is a replay.
 *
 * @example
 * checkpointKey({ scope: 'billing', period: '2025-03', customerId: 'acme' }); // -> 'billing:checkpoint:2025-03:customer:acme'
 * checkpointKey({ scope: 'billing', period: '2025-03' }); // -> 'billing:checkpoint:2025-03:all:customers'
 */
export function checkpointKey(parts: { scope: string; period: string; customerId?: string }): string {
  const who = parts.customerId === undefined ? 'all:customers' : `customer:${segment(parts.customerId)}`;
  return `${segment(parts.scope)}:checkpoint:${parts.period}:${who}`;
}

/**
 * The referenceId of one aggregated delta:
 * `{scope}:{reason}:{customerId}:agg.{windowStart}.{instance}.{part}`, e.g.
 * `api:api_request:acme:agg.20250301T130000Z.web-1-9f86d081884c.7`. `instance` is unique per
 * aggregator start (an optional label plus 48 random bits), and `part` counts the aggregates that
 * instance has closed, so two instances, a restarted process and an early flush followed by a later
 * one in the same window all get different ids. See the README for why.
 *
 * @example
 * aggregateReferenceId({ scope: 'api', reason: 'api_request', customerId: 'acme', windowStart: Date.UTC(2025, 2, 1, 13), instance: '9f86d081884c', part: 7 });
 * // -> 'api:api_request:acme:agg.20250301T130000Z.9f86d081884c.7'
 */
export function aggregateReferenceId(parts: { scope: string; reason: string; customerId: string; windowStart: number | string; instance: string; part: number }): string {
  const start = typeof parts.windowStart === 'number' ? compactUtc(parts.windowStart) : parts.windowStart;
  return buildReferenceId({ scope: parts.scope, operation: parts.reason, customerId: parts.customerId, requestId: `agg.${start}.${parts.instance}.${parts.part}` });
}
