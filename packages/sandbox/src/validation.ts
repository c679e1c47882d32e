import { isPlainObject } from './config-error.js';

/** Live keys are told apart by prefix, as PacSpace does: they never belong on a sandbox. */
export const LIVE_KEY_PREFIX = 'pk_live_';
/**
 * The `X-Chain-Id` of the sandbox environment: the official SDKs send 296 with `pk_test_` keys and
 * 295 with `pk_live_` keys (which the sandbox refuses before this is checked).
 */
export const SANDBOX_CHAIN_ID = '296';
/** PacSpace's documented customer id charset and length. */
export const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
export const MAX_ABS_DELTA = 1_000_000_000;
export const MAX_REASON_LENGTH = 500;
export const MAX_REFERENCE_ID_LENGTH = 512;
/** Serialized metadata at most 64 KiB: well above what usage metadata needs, far below the body limit. */
export const MAX_METADATA_BYTES = 64 * 1024;
const PERIOD_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** A delta that passed validation; absent optional fields are null, as the ledger stores them. */
export interface DeltaInput {
  customerId: string;
  delta: number;
  reason: string;
  referenceId: string | null;
  metadata: Record<string, unknown> | null;
  /** The committed entry this delta corrects: by its referenceId or its recordId. */
  adjusts: AdjustsReference | null;
}

/** `adjusts` as sent: exactly one of the two. */
export type AdjustsReference = { referenceId: string } | { recordId: string };

/** Either the checked value or the first field that is wrong and what it allows. */
export type Checked<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

const fail = (field: string, message: string): { ok: false; field: string; message: string } => ({ ok: false, field, message });

/** The fields of a delta (and of a batch item); any other is refused, naming it. */
const DELTA_FIELDS = ['customerId', 'delta', 'reason', 'referenceId', 'metadata', 'adjusts'];
const DELTA_FIELDS_TEXT = `${DELTA_FIELDS.slice(0, -1).join(', ')} and ${DELTA_FIELDS.at(-1)}`;

/**
 * Checks an `X-Chain-Id` header: absent is fine (PacSpace does not require it), present must be
 * the sandbox's. PacSpace's answer to a wrong one is undocumented; the sandbox refuses it as it
 * refuses any bad header, so a client configured for the wrong network finds out here.
 */
export function checkChainId(header: string | string[] | undefined): Checked<null> {
  if (header === undefined || header === SANDBOX_CHAIN_ID) return { ok: true, value: null };
  const got = typeof header === 'string' ? JSON.stringify(header.slice(0, 40)) : 'several values';
  return fail('X-Chain-Id', `X-Chain-Id, when sent, must be ${SANDBOX_CHAIN_ID} (the sandbox network, which the official SDKs send with pk_test_ keys; 295 is production's, for pk_live_ keys); got ${got}`);
}

/** Checks one delta body (or batch item) against the documented rules. */
export function checkDelta(body: unknown, fieldPrefix = ''): Checked<DeltaInput> {
  const f = (name: string): string => fieldPrefix + name;
  if (!isPlainObject(body)) return fail(fieldPrefix ? fieldPrefix.slice(0, -1) : 'body', 'must be a JSON object');
  const unknown = Object.keys(body).find((key) => !DELTA_FIELDS.includes(key));
  if (unknown !== undefined) return fail(f(unknown), `${f(unknown)} is not a delta field; the fields are ${DELTA_FIELDS_TEXT}`);
  const { customerId, delta, reason, referenceId, metadata, adjusts } = body;
  if (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId)) {
    return fail(f('customerId'), 'customerId is required: 1-128 characters of letters, digits, _ . : -');
  }
  if (typeof delta !== 'number' || !Number.isFinite(delta) || delta === 0 || Math.abs(delta) > MAX_ABS_DELTA) {
    return fail(f('delta'), `delta is required: a finite, non-zero number from -${MAX_ABS_DELTA} to ${MAX_ABS_DELTA}`);
  }
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON_LENGTH) {
    return fail(f('reason'), `reason is required: a non-empty string of at most ${MAX_REASON_LENGTH} characters`);
  }
  if (referenceId !== undefined && (typeof referenceId !== 'string' || referenceId === '' || referenceId.length > MAX_REFERENCE_ID_LENGTH)) {
    return fail(f('referenceId'), `referenceId, when given, must be a string of 1-${MAX_REFERENCE_ID_LENGTH} characters`);
  }
  if (metadata !== undefined && !isPlainObject(metadata)) {
    return fail(f('metadata'), 'metadata, when given, must be a plain JSON object (not an array or null)');
  }
  // The body's nesting was bounded when it was read (see nesting.ts), so serializing is safe.
  if (metadata !== undefined && Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
    return fail(f('metadata'), `metadata must serialize to at most ${MAX_METADATA_BYTES} bytes of JSON`);
  }
  const checkedAdjusts = adjusts === undefined ? null : checkAdjusts(adjusts, f('adjusts'));
  if (checkedAdjusts !== null && !checkedAdjusts.ok) return checkedAdjusts;
  return {
    ok: true,
    value: { customerId, delta, reason, referenceId: referenceId ?? null, metadata: metadata ?? null, adjusts: checkedAdjusts?.value ?? null },
  };
}

/** `{ referenceId }` or `{ recordId }`, nothing else: which committed entry a delta corrects. */
function checkAdjusts(value: unknown, field: string): Checked<AdjustsReference> {
  const shape = `${field} must be { referenceId } or { recordId } naming a committed delta of the same customer`;
  if (!isPlainObject(value)) return fail(field, shape);
  const keys = Object.keys(value);
  const [key] = keys;
  if (keys.length !== 1 || (key !== 'referenceId' && key !== 'recordId')) return fail(field, shape);
  const id = value[key];
  if (typeof id !== 'string' || id === '' || id.length > MAX_REFERENCE_ID_LENGTH) {
    return fail(`${field}.${key}`, `${field}.${key} must be a string of 1-${MAX_REFERENCE_ID_LENGTH} characters`);
  }
  return { ok: true, value: key === 'referenceId' ? { referenceId: id } : { recordId: id } };
}

/** Half-open millisecond range [start, end). */
export interface TimeRange {
  start: number;
  end: number;
}

/** Parses `YYYY-MM` into its UTC month range, or null when it is not a valid month. */
export function parsePeriod(period: string): TimeRange | null {
  const m = PERIOD_PATTERN.exec(period);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
}

/** The `YYYY-MM` UTC month containing `ms`. */
export function periodOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** Parses an ISO 8601 date or date-time into milliseconds, or null. */
export function parseIsoDate(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}
