import { createHash } from 'node:crypto';
import { hasOnly, SEGMENT_CHARS } from './id-chars.js';
import { DELTA_LIMITS } from './validation.js';

/** One segment of a referenceId is kept as is when it is 1-64 characters of `[A-Za-z0-9_.-]`, otherwise encoded. */
const PLAIN_SEGMENT_MAX = 64;
const READABLE_PREFIX = 24;

/** The parts a referenceId is built from. */
export interface ReferenceIdParts {
  /** The meter's scope, e.g. `billing-api`. */
  scope: string;
  /** The operation, normally the delta's reason, e.g. `report_generated`. */
  operation: string;
  /** Who pays. */
  customerId: string;
  /** The request (or window, or job) this delta belongs to. */
  requestId: string;
}

/**
 * Builds the deterministic referenceId `{scope}:{operation}:{customer}:{requestId}`, also sent as
 * the `Idempotency-Key`. Each segment is kept verbatim when it is 1-64 characters of
 * `[A-Za-z0-9_.-]`; otherwise it becomes `~{first 24 safe characters}~{16 hex of its sha256}` (42
 * characters at most). Plain segments never contain `~` and encoded ones always do, and no segment
 * contains `:`, so two different part lists never give the same id (up to a 64-bit hash
 * collision). Four plain segments of 60-64 characters would make more than 255 characters, the
 * longest Idempotency-Key PacSpace takes: then the request id's segment is encoded too, so an id
 * is never longer than 255 characters of `[A-Za-z0-9_.:~-]`, and the same on every retry and restart.
 *
 * @example
 * buildReferenceId({ scope: 'reports-api', operation: 'report_generated', customerId: 'acme', requestId: 'f3b2…' });
 * // -> 'reports-api:report_generated:acme:f3b2…'
 */
export function buildReferenceId(parts: ReferenceIdParts): string {
  const head = `${scopeSegment(parts.scope)}:${operationSegment(parts.operation)}:${segment(parts.customerId)}:`;
  const last = segment(parts.requestId);
  return head.length + last.length <= DELTA_LIMITS.maxReferenceIdLength ? head + last : head + encodedSegment(String(parts.requestId));
}

let lastOperation: string | undefined;
let lastOperationSegment = '';
/** Most deltas of a process carry one or a few reasons: the last one's segment is kept too. */
function operationSegment(operation: string): string {
  if (operation !== lastOperation) {
    lastOperationSegment = segment(operation);
    lastOperation = operation;
  }
  return lastOperationSegment;
}

let lastScope: string | undefined;
let lastScopeSegment = '';
/** A meter's scope is the same on every call: its segment is kept rather than tested again. */
function scopeSegment(scope: string): string {
  if (scope !== lastScope) {
    lastScopeSegment = segment(scope);
    lastScope = scope;
  }
  return lastScopeSegment;
}

/** Encodes one referenceId segment as {@link buildReferenceId} describes. */
export function segment(value: string): string {
  if (typeof value !== 'string') value = String(value);
  return hasOnly(value, SEGMENT_CHARS, PLAIN_SEGMENT_MAX) ? value : encodedSegment(value);
}

/** `~{first 24 safe characters}~{16 hex of its sha256}`, whatever the value. */
function encodedSegment(value: string): string {
  const readable = value.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, READABLE_PREFIX);
  const digest = createHash('sha256').update(value).digest('hex').slice(0, 16);
  return `~${readable}~${digest}`;
}
