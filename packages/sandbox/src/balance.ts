import { isPlainObject } from './config-error.js';
import { sha256Hex } from './canonical.js';
import { errorReply, reply, validationError, type Reply, type Success } from './envelope.js';
import { itemFailureFor, type FaultDecision } from './fault-plan.js';
import type { BatchItems, Ledger, StoredDelta } from './ledger.js';
import {
  CUSTOMER_ID_PATTERN,
  checkDelta,
  parseIsoDate,
  parsePeriod,
  periodOf,
  type TimeRange,
} from './validation.js';

/** The Balance API operations, free of HTTP, faults and Idempotency-Key handling. */

export const MAX_BATCH = 100;
const MAX_PAGE = 1000;
const EMPTY_ROOT = `0x${'0'.repeat(64)}`;

/** POST /api/v1/balance/delta */
export function emitDelta(ledger: Ledger, body: unknown, idempotencyKey: string | null, now: number): Success | Reply {
  const checked = checkDelta(body);
  if (!checked.ok) return validationError(checked.field, checked.message, customerIdOf(body));
  const d = ledger.commit(checked.value, idempotencyKey, now);
  return {
    status: 201,
    data: { recordId: d.recordId, receiptId: d.receiptId, status: 'QUEUED', customerId: d.customerId, delta: d.delta, referenceId: d.referenceId },
    outcome: 'committed',
    customerId: d.customerId,
  };
}

interface BatchResult {
  index: number;
  customerId: unknown;
  delta: unknown;
  status: 'QUEUED' | 'FAILED';
  recordId?: string;
  receiptId?: string;
  idempotent?: true;
  error?: string;
  field?: string;
  message?: string;
  retryAfterSeconds?: number;
}

/** How one batch item ended, for the request log. */
type ItemOutcome = 'committed' | 'replayed' | 'fault:item-failure' | 'fault:cadence-limit' | 'conflict' | 'invalid';
/** The batch is filed under its most telling item outcome, in this order. */
const BATCH_OUTCOME_ORDER: readonly ItemOutcome[] = ['committed', 'replayed', 'fault:item-failure', 'fault:cadence-limit', 'conflict', 'invalid'];

/**
 * POST /api/v1/balance/delta/batch. Items succeed or fail on their own (partial success). An item
 * whose referenceId was already committed with the same content is acknowledged, not committed
 * again; injected cadence limits and item failures fail items that would otherwise be committed.
 */
export function emitBatch(ledger: Ledger, body: unknown, idempotencyKey: string | null, now: number, faults: FaultDecision): Success | Reply {
  const items = isPlainObject(body) ? body.deltas : undefined;
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_BATCH) {
    return validationError('deltas', `deltas is required: an array of 1-${MAX_BATCH} delta objects`);
  }
  const results: BatchResult[] = [];
  const counts: BatchItems = { total: items.length, committed: 0, replayed: 0, failed: 0, failures: {} };
  const seen = new Set<ItemOutcome>();
  items.forEach((item: unknown, index) => {
    const [outcome, result] = batchItem(ledger, item, index, idempotencyKey, now, faults);
    seen.add(outcome);
    results.push(result);
    if (outcome === 'committed' || outcome === 'replayed') counts[outcome]++;
    else {
      counts.failed++;
      counts.failures[result.error!] = (counts.failures[result.error!] ?? 0) + 1;
    }
  });
  const outcome = BATCH_OUTCOME_ORDER.find((o) => seen.has(o)) ?? 'invalid';
  const queued = counts.committed + counts.replayed;
  return { status: 201, data: { totalQueued: queued, totalFailed: counts.failed, results }, outcome, items: counts };
}

function batchItem(ledger: Ledger, item: unknown, index: number, idempotencyKey: string | null, now: number, faults: FaultDecision): [ItemOutcome, BatchResult] {
  const base = { index, customerId: customerIdOf(item) ?? null, delta: isPlainObject(item) && typeof item.delta === 'number' ? item.delta : null };
  const checked = checkDelta(item, `deltas[${index}].`);
  if (!checked.ok) return ['invalid', { ...base, status: 'FAILED', error: 'VALIDATION_ERROR', field: checked.field, message: checked.message }];
  const input = checked.value;
  const prior = ledger.findByReference(input);
  if (prior && !prior.sameContent) {
    return ['conflict', { ...base, status: 'FAILED', error: 'IDEMPOTENCY_CONFLICT', message: 'referenceId was already committed with different content.' }];
  }
  // A replay is an answer from what is already recorded: faults never turn it into a failure.
  if (prior) return ['replayed', { ...base, status: 'QUEUED', recordId: prior.delta.recordId, receiptId: prior.delta.receiptId, idempotent: true }];
  const cadence = faults.cadenceLimit;
  if (cadence && input.customerId === cadence.customerId) {
    const message = 'Submission cadence limit reached for this customer.';
    return ['fault:cadence-limit', { ...base, status: 'FAILED', error: 'CADENCE_LIMIT', message, retryAfterSeconds: cadence.retryAfterSeconds }];
  }
  const injected = itemFailureFor(faults.itemFailures, index, input.customerId);
  if (injected) {
    const message = `Injected item failure (${injected.code}); this item was not committed.`;
    return ['fault:item-failure', { ...base, status: 'FAILED', error: injected.code, message, ...(injected.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: injected.retryAfterSeconds }) }];
  }
  const d: StoredDelta = ledger.commit(input, idempotencyKey, now);
  return ['committed', { ...base, status: 'QUEUED', recordId: d.recordId, receiptId: d.receiptId }];
}

/**
 * POST /api/v1/balance/checkpoint. Idempotent by resolved scope: the same (customer or all, period)
 * returns the first checkpoint again and is recorded once.
 */
export function createCheckpoint(ledger: Ledger, body: unknown, now: number): Success | Reply {
  if (!isPlainObject(body)) return validationError('body', 'the body must be a JSON object');
  for (const unsupported of ['timePreset', 'startDate', 'endDate', 'mode', 'fingerprints']) {
    if (body[unsupported] !== undefined) return validationError(unsupported, `${unsupported} is not supported by the sandbox; use customerId and period`);
  }
  const { customerId, period = periodOf(now) } = body;
  if (customerId !== undefined && customerId !== null && (typeof customerId !== 'string' || !CUSTOMER_ID_PATTERN.test(customerId))) {
    return validationError('customerId', 'customerId, when given, must be 1-128 characters of letters, digits, _ . : -');
  }
  if (typeof period !== 'string' || !parsePeriod(period) || period > periodOf(now)) {
    return validationError('period', 'period must be a month as YYYY-MM, not in the future', customerIdOf(body));
  }
  const customer = typeof customerId === 'string' ? customerId : null;
  if (customer !== null && ledger.customerDeltas(customer).length === 0) {
    return { ...errorReply(404, 'NOT_FOUND', `No deltas recorded for customer ${customer}`, 'not-found'), customerId: customer };
  }
  const scopeKey = `${customer ?? '*'}|${period}`;
  const existing = ledger.findCheckpoint(scopeKey);
  const logged = customer ?? undefined;
  if (existing) return { status: 201, data: checkpointData(existing, true), outcome: 'replayed', customerId: logged };

  const deltas = inRange(customer === null ? ledger.allDeltas() : ledger.customerDeltas(customer), parsePeriod(period)!);
  const checkpoint = {
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

function checkpointData(c: { checkpointId: string; proofRoot: string; customerId: string | null; period: string; deltasCount: number; netChange: number }, repeat: boolean): Record<string, unknown> {
  const data: Record<string, unknown> = {
    checkpointId: c.checkpointId,
    proofRoot: c.proofRoot,
    status: 'QUEUED',
    customerId: c.customerId,
    period: c.period,
    deltasCount: c.deltasCount,
    netChange: c.netChange,
  };
  if (repeat) data.idempotent = true;
  return data;
}

/** GET /api/v1/balance/delta/:recordId. Committed deltas read as VERIFIED: the sandbox has no chain to wait for. */
export function getDelta(ledger: Ledger, recordId: string): Reply {
  const d = ledger.findRecord(recordId);
  if (!d) return errorReply(404, 'NOT_FOUND', `No delta with recordId ${recordId}`, 'not-found');
  const data = {
    recordId: d.recordId,
    status: 'VERIFIED',
    customerId: d.customerId,
    delta: d.delta,
    reason: d.reason,
    referenceId: d.referenceId,
    receiptId: d.receiptId,
    verifiedAt: d.committedAt,
  };
  return reply({ status: 200, data, outcome: 'read', customerId: d.customerId });
}

/**
 * GET /api/v1/balance/derive/:customerId. The balance and count cover every matching delta; only
 * the `deltas` list is paged.
 */
export function derive(ledger: Ledger, customerId: string, query: URLSearchParams, now: number): Reply {
  if (!CUSTOMER_ID_PATTERN.test(customerId)) {
    return validationError('customerId', 'customerId must be 1-128 characters of letters, digits, _ . : -');
  }
  const scope = deriveScope(query, now);
  if ('status' in scope) return { ...scope, customerId };
  const limit = intParam(query.get('limit'), 100);
  if (limit === null || limit < 1 || limit > MAX_PAGE) return { ...validationError('limit', `limit must be an integer from 1 to ${MAX_PAGE}`), customerId };
  const offset = intParam(query.get('offset'), 0);
  if (offset === null) return { ...validationError('offset', 'offset must be a non-negative integer'), customerId };

  const matching = inRange(ledger.customerDeltas(customerId), scope);
  const data = {
    customerId,
    computedBalance: sum(matching),
    deltasCount: matching.length,
    latestReceiptId: matching.at(-1)?.receiptId ?? null,
    startDate: new Date(scope.start).toISOString(),
    endDate: new Date(scope.end).toISOString(),
    limit,
    offset,
    deltas: matching.slice(offset, offset + limit).map((d) => ({
      recordId: d.recordId,
      receiptId: d.receiptId,
      delta: d.delta,
      reason: d.reason,
      referenceId: d.referenceId,
      metadata: d.metadata,
      status: 'VERIFIED',
      committedAt: d.committedAt,
    })),
  };
  return reply({ status: 200, data, outcome: 'read', customerId });
}

/** period, or startDate & endDate (half-open), or by default the current UTC month. */
function deriveScope(query: URLSearchParams, now: number): TimeRange | Reply {
  const period = query.get('period');
  const startDate = query.get('startDate');
  const endDate = query.get('endDate');
  if (period !== null && (startDate !== null || endDate !== null)) {
    return errorReply(400, 'INVALID_SCOPE_COMBINATION', 'period cannot be combined with startDate/endDate', 'invalid', { field: 'period' });
  }
  if (period !== null) {
    return parsePeriod(period) ?? validationError('period', 'period must be a month as YYYY-MM');
  }
  if (startDate === null && endDate === null) return parsePeriod(periodOf(now))!;
  if (startDate === null || endDate === null) {
    return validationError(startDate === null ? 'startDate' : 'endDate', 'startDate and endDate must be given together (ISO 8601)');
  }
  const start = parseIsoDate(startDate);
  if (start === null) return validationError('startDate', 'startDate must be an ISO 8601 date or date-time');
  const end = parseIsoDate(endDate);
  if (end === null || end <= start) return validationError('endDate', 'endDate must be an ISO 8601 date or date-time after startDate');
  return { start, end };
}

function intParam(value: string | null, fallback: number): number | null {
  if (value === null) return fallback;
  return /^\d{1,9}$/.test(value) ? Number(value) : null;
}

function inRange(deltas: readonly StoredDelta[], range: TimeRange): StoredDelta[] {
  return deltas.filter((d) => d.ms >= range.start && d.ms < range.end);
}

function sum(deltas: readonly StoredDelta[]): number {
  let total = 0;
  for (const d of deltas) total += d.delta;
  return total;
}

/** The customer a (possibly invalid) body is about, for the request log. */
export function customerIdOf(body: unknown): string | undefined {
  return isPlainObject(body) && typeof body.customerId === 'string' ? body.customerId : undefined;
}
