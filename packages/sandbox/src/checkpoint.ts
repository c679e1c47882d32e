import { sha256Hex } from './canonical.js';
import { isPlainObject } from './config-error.js';
import { errorReply, validationError, type Reply, type Success } from './envelope.js';
import type { CheckpointRecord, Ledger } from './ledger.js';
import { notImplementedParameter } from './not-implemented.js';
import { CUSTOMER_ID_PATTERN, parsePeriod, periodOf } from './validation.js';
import { sum, verifiedIn } from './verified.js';

const EMPTY_ROOT = `0x${'0'.repeat(64)}`;
const KNOWN_FIELDS = new Set(['customerId', 'period']);
/** Documented checkpoint fields the sandbox does not model; refused rather than ignored. */
const UNMODELLED_FIELDS = ['timePreset', 'startDate', 'endDate', 'mode', 'fingerprints'];

/**
 * POST /api/v1/balance/checkpoint. Idempotent by resolved scope: the same (customer or all, period)
 * returns the first checkpoint again and is recorded once. It covers the deltas VERIFIED when it
 * is created.
 */
export function createCheckpoint(ledger: Ledger, body: unknown, now: number): Success | Reply {
  if (!isPlainObject(body)) return validationError('body', 'the body must be a JSON object');
  for (const field of UNMODELLED_FIELDS) {
    if (body[field] !== undefined) return notImplementedParameter(field, 'customerId and period');
  }
  const unknown = Object.keys(body).find((key) => !KNOWN_FIELDS.has(key));
  if (unknown !== undefined) return validationError(unknown, `${unknown} is not a checkpoint field; known fields are customerId and period`);
  const { customerId, period = periodOf(now) } = body;
  if (customerId !== undefined && customerId !== null && (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId))) {
    return validationError('customerId', 'customerId, when given, must be 1-128 characters of letters, digits, _ . : -');
  }
  const customer = typeof customerId === 'string' ? customerId : null;
  if (typeof period !== 'string' || !parsePeriod(period) || period > periodOf(now)) {
    return validationError('period', 'period must be a month as YYYY-MM, not in the future', customer ?? undefined);
  }
  if (customer !== null && ledger.customerDeltas(customer).length === 0) {
    return { ...errorReply(404, 'NOT_FOUND', `No deltas recorded for customer ${customer}`, 'not-found'), customerId: customer };
  }
  const scopeKey = `${customer ?? '*'}|${period}`;
  const existing = ledger.findCheckpoint(scopeKey);
  const logged = customer ?? undefined;
  if (existing) return { status: 201, data: checkpointData(existing, true), outcome: 'replayed', customerId: logged };

  const deltas = verifiedIn(ledger, customer === null ? ledger.allDeltas() : ledger.customerDeltas(customer), parsePeriod(period)!, now);
  const checkpoint: CheckpointRecord = {
    checkpointId: `chk_${sha256Hex(`checkpoint|${scopeKey}`).slice(0, 24)}`,
    proofRoot: deltas.length === 0 ? EMPTY_ROOT : `0x${sha256Hex(deltas.map((d) => d.receiptId).join('|'))}`,
    customerId: customer,
    period,
    deltasCount: deltas.length,
    netChange: sum(deltas),
    createdAt: new Date(now).toISOString(),
  };
  ledger.addCheckpoint(scopeKey, checkpoint);
  return { status: 201, data: checkpointData(checkpoint, false), outcome: 'committed', customerId: logged };
}

function checkpointData(c: CheckpointRecord, repeat: boolean): Record<string, unknown> {
  const { createdAt: _createdAt, ...fields } = c;
  return { ...fields, status: 'QUEUED', ...(repeat ? { idempotent: true } : {}) };
}
