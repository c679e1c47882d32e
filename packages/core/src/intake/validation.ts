import { DeltaValidationError } from '../errors.js';
import { CUSTOMER_ID_CHARS, hasOnly, REFERENCE_ID_CHARS } from './id-chars.js';

/** The fields of one usage record, as PacSpace's `POST /api/v1/balance/delta` takes them. */
export interface DeltaFields {
  customerId: string;
  delta: number;
  reason: string;
  referenceId: string;
  /** The committed delta this one corrects (PacSpace's `adjusts`): by its referenceId or its recordId. */
  adjusts?: AdjustsReference;
  metadata?: Record<string, unknown>;
}

/**
 * Which committed delta a correction adjusts, as PacSpace's `adjusts` field names it: exactly one
 * of its `referenceId` or its `recordId`.
 *
 * @example
 * const adjusts: AdjustsReference = { referenceId: 'reports-api:export:acme:req-42' };
 */
export type AdjustsReference = { referenceId: string } | { recordId: string };

/** PacSpace's documented limits, checked before a delta is queued. */
export const DELTA_LIMITS = Object.freeze({
  customerIdPattern: /^[A-Za-z0-9_.:-]{1,128}$/,
  maxAbsDelta: 1_000_000_000,
  maxReasonLength: 500,
  /**
   * The longest referenceId, given or built: the single endpoint gets it as the Idempotency-Key,
   * and PacSpace (like the sandbox) takes keys of at most 255 characters.
   */
  maxReferenceIdLength: 255,
  /** `[A-Za-z0-9_.:~-]`, 1 to `maxReferenceIdLength` characters. */
  referenceIdPattern: /^[A-Za-z0-9_.:~-]{1,255}$/,
  /**
   * Our own bound; the API documents none. Levels of objects and arrays in `metadata`, the
   * metadata object itself being level 1. A key/value map needs two or three; 32 leaves room for
   * any real document while staying far below the nesting that recursive JSON code (parsers,
   * canonicalizers) on the receiving side can take. The sandbox refuses deeper metadata with 400.
   */
  maxMetadataDepth: 32,
});

/** Throws {@link DeltaValidationError} naming `customerId` unless the API would accept it. */
export function assertCustomerId(value: unknown, field = 'customerId'): asserts value is string {
  // The same rule as DELTA_LIMITS.customerIdPattern, without a regex call per delta.
  if (typeof value !== 'string' || !hasOnly(value, CUSTOMER_ID_CHARS, 128)) {
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

/**
 * Throws {@link DeltaValidationError} naming `referenceId` unless it is 1-255 characters of
 * `[A-Za-z0-9_.:~-]`: it is also the Idempotency-Key of a single delta, and PacSpace takes keys of
 * at most 255 characters.
 */
export function assertReferenceId(value: unknown, field = 'referenceId'): asserts value is string {
  // The same rule as DELTA_LIMITS.referenceIdPattern, without a regex call per delta.
  if (typeof value !== 'string' || !hasOnly(value, REFERENCE_ID_CHARS, DELTA_LIMITS.maxReferenceIdLength)) {
    throw new DeltaValidationError(
      field,
      `must be 1-${DELTA_LIMITS.maxReferenceIdLength} characters of letters, digits, '_', '-', '.', ':', '~' (it is also the Idempotency-Key, which PacSpace takes up to ${DELTA_LIMITS.maxReferenceIdLength} characters; got ${describe(value)})`,
    );
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
 * Throws {@link DeltaValidationError} naming `adjusts` unless it is undefined or exactly
 * `{ referenceId }` (a valid referenceId) or `{ recordId }` (1-512 characters of `[A-Za-z0-9_.:~-]`).
 */
export function assertAdjusts(value: unknown, field = 'adjusts'): asserts value is AdjustsReference | undefined {
  if (value === undefined) return;
  const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  const key = keys[0];
  if (keys.length !== 1 || (key !== 'referenceId' && key !== 'recordId')) {
    throw new DeltaValidationError(field, `must be { referenceId } or { recordId } naming the committed delta it corrects (got ${describe(value)})`);
  }
  assertReferenceId((value as Record<string, unknown>)[key], `${field}.${key}`);
}

/**
 * Serializes the request body once, so every retry sends the same bytes: the same text as
 * `JSON.stringify({ customerId, delta, reason, referenceId, adjusts, metadata })`, built without the object.
 * `fields` must be validated first: `customerId` and `referenceId` are then `[A-Za-z0-9_.:~-]`
 * (nothing to escape) and `delta` a finite number. Metadata that JSON cannot represent (a cycle, a
 * BigInt, a throwing toJSON), or that nests objects and arrays deeper than
 * {@link DELTA_LIMITS}.maxMetadataDepth, is refused naming `metadata`. The depth is checked on the
 * serialized text, so what a `toJSON` returns counts too.
 */
export function serializeDelta(fields: DeltaFields): string {
  let metadata: string | undefined;
  if (fields.metadata !== undefined) {
    try {
      metadata = JSON.stringify(fields.metadata) as string | undefined;
    } catch (cause) {
      throw new DeltaValidationError('metadata', `must serialize to JSON (${(cause as Error).message})`, { cause });
    }
    // Too deep takes two brackets per level, so short metadata (the common case) needs no look.
    if (metadata !== undefined && metadata.length > 2 * DELTA_LIMITS.maxMetadataDepth && nestsDeeperThan(metadata, DELTA_LIMITS.maxMetadataDepth)) {
      throw new DeltaValidationError('metadata', `must not nest objects and arrays more than ${DELTA_LIMITS.maxMetadataDepth} levels deep (the metadata object is level 1)`);
    }
  }
  let head = `{"customerId":"${fields.customerId}","delta":${fields.delta},"reason":${reasonJson(fields.reason)},"referenceId":"${fields.referenceId}"`;
  // Checked ids of [A-Za-z0-9_.:~-]: nothing to escape.
  if (fields.adjusts !== undefined) head += `,"adjusts":${'referenceId' in fields.adjusts ? `{"referenceId":"${fields.adjusts.referenceId}"}` : `{"recordId":"${fields.adjusts.recordId}"}`}`;
  return metadata === undefined ? `${head}}` : `${head},"metadata":${metadata}}`;
}

/** Characters of `{"customerId":"`, `","delta":`, `,"reason":` and `,"referenceId":"`, the fixed parts before the referenceId. */
const FIXED_BEFORE_REFERENCE_ID = 15 + 10 + 10 + 16;

/**
 * The referenceId of `fields` as a slice of `body`, their {@link serializeDelta} text: one small
 * object over the body rather than a string of its own (a built referenceId is a tree of
 * concatenated pieces, which would live, copied by every young GC, until delivery). Falls back to
 * `fields.referenceId` if the body does not hold it where serializeDelta puts it.
 */
export function referenceIdWithin(body: string, fields: DeltaFields): string {
  const { referenceId } = fields;
  const start = FIXED_BEFORE_REFERENCE_ID + fields.customerId.length + String(fields.delta).length + reasonJson(fields.reason).length;
  // slice-then-compare: an inlined startsWith walks the (just flattened) body char by char, ~60 instructions each.
  const slice = body.slice(start, start + referenceId.length);
  return slice === referenceId ? slice : referenceId;
}

let lastReason: string | undefined;
let lastReasonJson = '';
let priorReason: string | undefined;
let priorReasonJson = '';
/**
 * `JSON.stringify(reason)`; most deltas of a process carry one or a few reasons, so the last two
 * ones' texts are kept (two: a call billed under two reasons, input and output tokens, alternates).
 */
function reasonJson(reason: string): string {
  if (reason === lastReason) return lastReasonJson;
  if (reason === priorReason) return priorReasonJson;
  priorReason = lastReason;
  priorReasonJson = lastReasonJson;
  lastReasonJson = JSON.stringify(reason);
  lastReason = reason;
  return lastReasonJson;
}

/**
 * Whether JSON text nests objects and arrays more than `limit` levels deep. It first counts opening
 * brackets with the native `indexOf`: text with no more than `limit` of them cannot be deeper, and
 * only the rest is scanned exactly.
 */
function nestsDeeperThan(json: string, limit: number): boolean {
  let opened = 0;
  for (let i = json.indexOf('{'); i !== -1; i = json.indexOf('{', i + 1)) if (++opened > limit) return scanDeeperThan(json, limit);
  for (let i = json.indexOf('['); i !== -1; i = json.indexOf('[', i + 1)) if (++opened > limit) return scanDeeperThan(json, limit);
  return false;
}

/** The exact check: brackets inside strings (`"reason": "{{{"`) do not count. */
function scanDeeperThan(json: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

/**
 * The customerId a framework resolver returned, as the Meter takes it: a safe integer (an
 * auto-increment account id) becomes its decimal string; anything else is returned unchanged, for
 * {@link assertCustomerId} to judge. Larger or fractional numbers are left as numbers, and so
 * refused: two different ids beyond 2^53 can be the same number, which would merge two bills.
 *
 * @example
 * customerIdOf(12345); // '12345'
 * customerIdOf(2 ** 53); // 9007199254740992 (a number: refused naming customerId)
 */
export function customerIdOf(value: unknown): unknown {
  return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
}

/**
 * When a resolver returned a Promise (or any other thenable), returns the error that refuses it,
 * naming `field`, after handling the Promise's rejection so it can never become an unhandled
 * rejection; otherwise `undefined`. Resolvers must return their value itself: they run when the
 * response has finished, and awaiting them would leave a delta neither accepted nor refused for as
 * long as the Promise takes, past a shutdown or a crash.
 *
 * @example
 * const value = options.customerId(req, res);
 * const refused = thenableError(value, 'customerId'); // a DeltaValidationError if value is a Promise
 */
export function thenableError(value: unknown, field: string): DeltaValidationError | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    const then = (value as { then?: unknown }).then;
    if (typeof then !== 'function') return undefined;
    then.call(value, undefined, ignoreRejection);
  } catch (cause) {
    // A Proxy or getter that throws: a hostile value, refused all the same.
    return new DeltaValidationError(field, `the ${field} resolver returned a value that could not be read (${(cause as Error)?.message ?? String(cause)})`, { cause });
  }
  return new DeltaValidationError(
    field,
    `the ${field} resolver returned a Promise; resolvers must return the value itself, synchronously (load it before the handler, e.g. in a middleware or guard, and read it from the request)`,
  );
}

function ignoreRejection(): void {
  // The delta is already refused and reported; what the Promise rejects with adds nothing.
}

/** A short, log-safe description of a rejected value: never the whole value. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an instance of ${value.constructor?.name ?? 'Object'}` : typeof value;
}
