import { createHash } from 'node:crypto';
import { DeltaValidationError } from '../errors.js';
import type { DeltaInput } from '../meter-api.js';
import { assertCustomerId, assertDelta, assertReferenceId, DELTA_LIMITS } from '../intake/validation.js';

/**
 * What {@link correctionOf} needs: the billed delta to reverse, and how.
 *
 * @example
 * const input: CorrectionInput = { referenceId: receipt.referenceId, customerId: 'acme', delta: -5 };
 */
export interface CorrectionInput {
  /** The referenceId of the billed delta (`EnqueueResult.referenceId`, `DeliveryReceipt.referenceId`). */
  referenceId: string;
  /** Who was billed. */
  customerId: string;
  /** What was billed, e.g. `-5`. */
  delta: number;
  /** The correction's own amount: non-zero, within ±1e9. Default `-delta`: the whole call reversed. */
  amount?: number | undefined;
  /** The correction's reason. Default `'correction'`. */
  reason?: string | undefined;
  /**
   * Tells several corrections of one delta apart (a partial refund, then another): 1-32
   * characters of `[A-Za-z0-9_.-]`, part of the correction's referenceId. Default `'reversal'`.
   */
  label?: string | undefined;
  /** Extra metadata for the correction. */
  metadata?: Record<string, unknown> | undefined;
}

const LABEL = /^[A-Za-z0-9_.-]{1,32}$/;

/**
 * The referenceId of a correction: `{original}~{label}`, or `~{32 hex of sha256(original)}~{label}`
 * when that would pass `DELTA_LIMITS.maxReferenceIdLength` (255) characters. Deterministic, so a retried correction (the process
 * restarted, the request was retried) is the same delta and PacSpace applies it once; and distinct
 * from every id `buildReferenceId` makes (those never end in `~` and a label).
 *
 * @example
 * correctionReferenceId('reports-api:export:acme:req-42'); // 'reports-api:export:acme:req-42~reversal'
 */
export function correctionReferenceId(originalReferenceId: string, label = 'reversal'): string {
  assertReferenceId(originalReferenceId, 'referenceId');
  if (typeof label !== 'string' || !LABEL.test(label)) throw new DeltaValidationError('label', `must be 1-32 characters of letters, digits, '_', '-', '.' (got ${JSON.stringify(label)})`);
  const plain = `${originalReferenceId}~${label}`;
  if (plain.length <= DELTA_LIMITS.maxReferenceIdLength) return plain;
  return `~${createHash('sha256').update(originalReferenceId).digest('hex').slice(0, 32)}~${label}`;
}

/**
 * Builds the delta that reverses (or partly reverses) a billed one through PacSpace's `adjusts`:
 * `{ customerId, delta: amount ?? -delta, reason: 'correction', referenceId: correctionReferenceId(...), adjusts: { referenceId } }`.
 * Send it with `meter.emit()`, which resolves once PacSpace has it; its referenceId is fixed by the
 * original's, so sending it again after a failure, a timeout or a restart applies it once. Send it
 * once the original was delivered (`meter.emit()`/`meterNow()` resolved, or `onDelivered`): PacSpace
 * refuses an `adjusts` naming a delta it has not committed. Throws {@link DeltaValidationError}
 * naming the field for a bad input.
 *
 * @example
 * const billed = await meter.emit({ customerId: 'acme', delta: -5, reason: 'export', requestId });
 * try { await runExport(); } catch (err) {
 *   await meter.emit(correctionOf({ referenceId: billed.referenceId, customerId: 'acme', delta: -5 }));
 *   throw err;
 * }
 */
export function correctionOf(input: CorrectionInput): DeltaInput & { referenceId: string } {
  if (input === null || typeof input !== 'object') throw new DeltaValidationError('input', 'must be an object with referenceId, customerId and delta');
  const { referenceId, customerId, delta, amount, reason = 'correction', label, metadata } = input;
  assertCustomerId(customerId);
  assertDelta(delta);
  if (amount !== undefined) assertDelta(amount, 'amount');
  const correction: DeltaInput & { referenceId: string } = {
    customerId,
    delta: amount ?? -delta,
    reason,
    referenceId: correctionReferenceId(referenceId, label),
    adjusts: { referenceId },
  };
  if (metadata !== undefined) correction.metadata = metadata;
  return correction;
}
