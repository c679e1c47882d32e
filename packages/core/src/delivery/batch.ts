import { createHash } from 'node:crypto';
import type { QueuedDelta } from '../store/store.js';

/** `'batch'`: the batch endpoint, many deltas per request. `'single'`: one delta per request. */
export type DeliveryMode = 'batch' | 'single';

/**
 * What the sender needs of a batch: a request delta {@link Batch} of the Meter, or a chunk of a
 * periodic window (frozen with its own key). Either way: the endpoint (`mode`), the Idempotency-Key,
 * the body bytes, and the members' frozen bodies (parsed back for an SDK-shaped client).
 *
 * @example
 * const frozen: FrozenBatch = { mode: 'batch', key: 'billing:periodic:batch:20250301T130000Z.3600s:r0.1of1', body, members: items.map((item) => ({ body: JSON.stringify(item) })) };
 */
export interface FrozenBatch {
  readonly mode: DeliveryMode;
  readonly key: string;
  readonly body: string;
  readonly members: readonly { readonly body: string }[];
}

/**
 * One request's worth of deltas, frozen when it is formed: the same members in the same order, the
 * same body and the same Idempotency-Key on every resend after a transient failure. A batch is only
 * ever re-formed (new members, so a new key) when some of its members must go their own way:
 * items PacSpace refused for now, a 413 or 400 that splits it (never once it may have been
 * recorded), a member out of attempts or time, a customer paused by a cadence limit.
 *
 * @example
 * const batch = formBatch(store.leaseBatch(now, 100, maxBytes, pauses.customerPausedUntil), 'batch', 'billing-api');
 * await client.post('/api/v1/balance/delta/batch', batch.body, batch.key);
 */
export interface Batch {
  readonly mode: DeliveryMode;
  readonly members: readonly QueuedDelta[];
  /** The Idempotency-Key: the member's referenceId in single mode, else {@link batchIdempotencyKey}. */
  readonly key: string;
  /** The request body: the member's frozen body, or `{"deltas":[...]}` of the members' frozen bodies. */
  readonly body: string;
  /** Requests made with this batch so far. */
  sends: number;
  /**
   * True once a send of it ended without a definite answer (network error, deadline, 5xx, 408/429,
   * a 2xx we could not read, 202 in progress, an answer that was not PacSpace's): PacSpace may have
   * recorded it, so it is resent as it is until an answer settles it (see `holdUnconfirmed`).
   */
  unconfirmed: boolean;
  /** Epoch ms before which it must not be sent again. */
  dueAt: number;
}

/**
 * Freezes leased deltas into a batch. In single mode `members` has one delta, sent as it was
 * accepted, keyed by its referenceId (as the single-delta endpoint expects).
 *
 * @example
 * formBatch([item], 'single', 'billing-api'); // -> { key: item.referenceId, body: item.body, ... }
 */
export function formBatch(members: readonly QueuedDelta[], mode: DeliveryMode, scope: string): Batch {
  if (mode === 'single') return { mode, members, key: members[0]!.referenceId, body: members[0]!.body, sends: 0, unconfirmed: false, dueAt: 0 };
  let body = '{"deltas":[';
  for (let i = 0; i < members.length; i++) body += (i === 0 ? '' : ',') + members[i]!.body;
  return { mode, members, key: batchIdempotencyKey(scope, members), body: body + ']}', sends: 0, unconfirmed: false, dueAt: 0 };
}

/**
 * The Idempotency-Key of a batch: `{scope}:batch:{count}:{hash}`, where `hash` is the MD5 (32
 * hex characters; a fingerprint, not a security measure: it runs per delta, and MD5 costs half of
 * SHA-256 here) of the members' `referenceId#attempts`, one per line, in order. It depends only on
 * the members, so a batch re-formed from the same deltas after a restart gets the same key and
 * body (a replay), and it changes whenever the members or their attempt counts differ: a delta
 * PacSpace refused for now always travels next under a new key, never under one whose stored
 * answer would repeat the refusal. Five segments, so it never equals a delta's referenceId.
 *
 * @example
 * batchIdempotencyKey('billing-api', members); // -> 'billing-api:batch:100:3f2a…'
 */
export function batchIdempotencyKey(scope: string, members: readonly QueuedDelta[]): string {
  // One string, hashed in one call: a call per member costs more than the hashing itself.
  let text = '';
  for (const member of members) text += `${member.referenceId}#${member.attempts}\n`;
  return `${scope}:batch:${members.length}:${createHash('md5').update(text).digest('hex')}`;
}

/**
 * Splits a batch of two or more deltas into two new batches (new keys), due at once: how a 413
 * (too large) or a batch-level 400/409/422 (one bad item spoils the lot) is narrowed down.
 *
 * @example
 * const [left, right] = halves(batch, 'billing-api');
 */
export function halves(batch: Batch, scope: string): [Batch, Batch] {
  const middle = Math.ceil(batch.members.length / 2);
  return [formBatch(batch.members.slice(0, middle), batch.mode, scope), formBatch(batch.members.slice(middle), batch.mode, scope)];
}
