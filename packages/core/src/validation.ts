import { DeltaValidationError } from './errors.js';

/** The fields of one usage record, as PacSpace's `POST /api/v1/balance/delta` takes them. */
export interface DeltaFields {
  customerId: string;
  delta: number;
  reason: string;
  referenceId: string;
  metadata?: Record<string, unknown>;
}

/** PacSpace's documented limits, checked before a delta is queued. */
export const DELTA_LIMITS = Object.freeze({
  customerIdPattern: /^[A-Za-z0-9_.:-]{1,128}$/,
  maxAbsDelta: 1_000_000_000,
  maxReasonLength: 500,
  /** Our own bound; the API documents none. Generated ids are at most 259 characters. */
  referenceIdPattern: /^[A-Za-z0-9_.:~-]{1,512}$/,
});

/** Throws {@link DeltaValidationError} naming `customerId` unless the API would accept it. */
export function assertCustomerId(value: unknown, field = 'customerId'): asserts value is string {
  if (typeof value !== 'string' || !DELTA_LIMITS.customerIdPattern.test(value)) {
    throw new DeltaValidationError(field, `must be 1-128 characters of letters, digits, '_', '-', '.', ':' (got ${describe(value)})`);
  }
}

/** Throws {@link DeltaValidationError} naming `delta` unless it is finite, non-zero and within ±1e9. */
export function assertDelta(value: unknown, field = 'delta'): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value === 0 || Math.abs(value) > DELTA_LIMITS.maxAbsDelta) {
    throw new DeltaValidationError(field, `must be a finite, non-zero number between -1e9 and 1e9 (got ${describe(value)})`);
  }
}

/** Throws {@link DeltaValidationError} naming `reason` unless it is a non-empty string of at most 500 characters. */
export function assertReason(value: unknown, field = 'reason'): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > DELTA_LIMITS.maxReasonLength) {
    throw new DeltaValidationError(field, `must be a non-empty string of at most 500 characters (got ${describe(value)})`);
  }
}

/** Throws {@link DeltaValidationError} naming `referenceId` unless it is 1-512 characters of `[A-Za-z0-9_.:~-]`. */
export function assertReferenceId(value: unknown, field = 'referenceId'): asserts value is string {
  if (typeof value !== 'string' || !DELTA_LIMITS.referenceIdPattern.test(value)) {
    throw new DeltaValidationError(field, `must be 1-512 characters of letters, digits, '_', '-', '.', ':', '~' (got ${describe(value)})`);
  }
}

/** Throws {@link DeltaValidationError} naming `metadata` unless it is a plain object (or undefined). */
export function assertMetadata(value: unknown, field = 'metadata'): asserts value is Record<string, unknown> | undefined {
  if (value === undefined) return;
  const proto = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new DeltaValidationError(field, `must be a plain object of JSON values (got ${describe(value)})`);
  }
}

/**
 * Serializes the request body once, so every retry sends the same bytes. Metadata that JSON cannot
 * represent (a cycle, a BigInt, a throwing toJSON) is refused naming `metadata`.
 */
export function serializeDelta(fields: DeltaFields): string {
  const body = { customerId: fields.customerId, delta: fields.delta, reason: fields.reason, referenceId: fields.referenceId, metadata: fields.metadata };
  try {
    return JSON.stringify(body);
  } catch (cause) {
    throw new DeltaValidationError('metadata', `must serialize to JSON (${(cause as Error).message})`, { cause });
  }
}

/** A short, log-safe description of a rejected value: never the whole value. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an instance of ${value.constructor?.name ?? 'Object'}` : typeof value;
}
