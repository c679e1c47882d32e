// A delta shaped exactly as the Meter queues it, for the store packages' tests (their
// test-support/helpers.ts give each its own numbering, referenceIds, metadata and clock).
import type { QueuedDelta } from '@pacspace-metering/core';

/** What differs between the stores' test deltas; `overrides` of the caller still win. */
export interface QueuedDeltaShape {
  /** The delta's seq (the caller's counter). */
  seq: number;
  /** The referenceId used unless `overrides.referenceId` is given. */
  referenceId: string;
  /** The body's `metadata`. */
  metadata: Record<string, unknown>;
  acceptedAt: number;
}

/**
 * A -1 `api_request` delta for `customerId`: frozen fields, its JSON body and byte length, never
 * attempted, due at once; `overrides` replace any field (a given referenceId goes into the body too).
 *
 * @example
 * queuedDelta('acme', { seq: 1, referenceId: 'test:api_request:acme:req-1', metadata: { n: 1 }, acceptedAt: 1001 });
 */
export function queuedDelta(customerId: string, shape: QueuedDeltaShape, overrides: Partial<QueuedDelta> = {}): QueuedDelta {
  const referenceId = overrides.referenceId ?? shape.referenceId;
  const body = JSON.stringify({ customerId, delta: -1, reason: 'api_request', referenceId, metadata: shape.metadata });
  return {
    seq: shape.seq,
    referenceId,
    customerId,
    fields: Object.freeze({ customerId, delta: -1, reason: 'api_request', referenceId }),
    body,
    bytes: Buffer.byteLength(body),
    acceptedAt: shape.acceptedAt,
    attempts: 0,
    dueAt: 0,
    ...overrides,
  };
}
