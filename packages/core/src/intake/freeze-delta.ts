import { randomUUID } from 'node:crypto';
import { DeltaValidationError } from '../errors.js';
import type { DeltaInput } from '../meter-api.js';
import { buildReferenceId } from './reference-id.js';
import { assertAdjusts, assertCustomerId, assertDelta, assertMetadata, assertReason, assertReferenceId, referenceIdWithin, serializeDelta, type DeltaFields } from './validation.js';

/**
 * A validated input: `fields` is what events report (no metadata), `body` the frozen JSON, `correction` whether it adjusts another delta.
 *
 * @example
 * const frozen: Frozen = freezeDelta(input, 'reports-api');
 */
export interface Frozen {
  fields: DeltaFields;
  body: string;
  bytes: number;
  correction: boolean;
}

/**
 * What freezing an input threw, as the validation error a refusal carries (hostile inputs throw anything).
 *
 * @example
 * asValidationError(new TypeError('boom')); // -> DeltaValidationError { field: 'input' }
 */
export function asValidationError(err: unknown): DeltaValidationError {
  return err instanceof DeltaValidationError ? err : new DeltaValidationError('input', `could not be read: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/**
 * Validates the input and freezes its body; throws DeltaValidationError naming the field.
 * `fields` is what events report (no metadata); `bytes` the body's UTF-8 size. A delta of exactly
 * 0 is valid here (the intake answers it as skipped).
 *
 * @example
 * const { fields, body } = freezeDelta({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: 'r1' }, 'reports-api');
 */
export function freezeDelta(input: DeltaInput, scope: string): Frozen {
  if (input === null || typeof input !== 'object') throw new DeltaValidationError('input', 'must be an object with customerId, delta and reason');
  const { customerId, delta, reason, metadata, adjusts } = input;
  assertCustomerId(customerId);
  // Exactly 0 is valid but has nothing to bill: `accept` answers it as skipped.
  if (delta !== 0) assertDelta(delta);
  assertReason(reason);
  assertMetadata(metadata);
  assertAdjusts(adjusts);
  let referenceId = input.referenceId;
  const built = referenceId === undefined;
  if (!built) assertReferenceId(referenceId);
  else {
    const requestId = input.requestId ?? randomUUID();
    if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 1024) {
      throw new DeltaValidationError('requestId', 'must be a non-empty string of at most 1024 characters');
    }
    referenceId = buildReferenceId({ scope, operation: reason, customerId, requestId });
  }
  const fields: DeltaFields = { customerId, delta, reason, referenceId };
  const body = serializeDelta(metadata === undefined && adjusts === undefined ? fields : { customerId, delta, reason, referenceId, adjusts, metadata });
  // Measuring the body also flattens it into one string, so the slice below is cut from that.
  const bytes = Buffer.byteLength(body);
  // A built id: kept as a slice of the body (see referenceIdWithin), which lives as long anyway.
  if (built) fields.referenceId = referenceIdWithin(body, fields);
  return { fields, body, bytes, correction: adjusts !== undefined };
}
