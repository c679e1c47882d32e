import { isPlainObject } from './config-error.js';
import { errorReply, validationError, type Reply, type Success } from './envelope.js';
import { itemFailureFor, verificationFailureFor, type FaultDecision } from './fault-plan.js';
import type { AdjustedDelta, BatchItems, Ledger, StoredDelta } from './ledger.js';
import { checkDelta, type DeltaInput } from './validation.js';

/** The delta write operations, free of HTTP, request-level faults and Idempotency-Key handling. */

export const MAX_BATCH = 100;

/**
 * POST /api/v1/balance/delta. With `byReferenceId` (the `singleDeltaDedupe: 'reference-id'`
 * option), a delta whose referenceId is already committed is answered from the ledger as batch
 * items are: a replay with the same content, 409 with other content.
 */
export function emitDelta(ledger: Ledger, body: unknown, idempotencyKey: string | null, now: number, faults: FaultDecision, byReferenceId = false): Success | Reply {
  const checked = checkDelta(body);
  if (!checked.ok) return validationError(checked.field, checked.message, customerIdOf(body));
  const prior = byReferenceId ? ledger.findByReference(checked.value) : undefined;
  if (prior && !prior.sameContent) {
    return errorReply(409, 'IDEMPOTENCY_CONFLICT', 'referenceId was already committed with different content.', 'conflict');
  }
  if (prior) {
    const { recordId, receiptId, customerId, delta, referenceId } = prior.delta;
    return { status: 201, data: { recordId, receiptId, status: 'QUEUED', customerId, delta, referenceId, idempotent: true }, outcome: 'replayed', customerId };
  }
  const d = commitDelta(ledger, checked.value, '', 0, { idempotencyKey, now, faults });
  if ('field' in d) return validationError(d.field, d.message, checked.value.customerId);
  return {
    status: 201,
    data: { recordId: d.recordId, receiptId: d.receiptId, status: 'QUEUED', customerId: d.customerId, delta: d.delta, referenceId: d.referenceId },
    outcome: 'committed',
    customerId: d.customerId,
    links: { recordIds: [d.recordId] },
  };
}

/**
 * Commits a validated delta: resolves `adjusts` (refusing one that names no committed delta of the
 * same customer) and fixes whether the verificationFailure fault will make it end FAILED.
 */
function commitDelta(
  ledger: Ledger,
  input: DeltaInput,
  fieldPrefix: string,
  index: number,
  { idempotencyKey, now, faults }: { idempotencyKey: string | null; now: number; faults: FaultDecision },
): StoredDelta | { field: string; message: string } {
  const adjusts = resolveAdjusts(ledger, input, `${fieldPrefix}adjusts`);
  if (adjusts !== null && 'field' in adjusts) return adjusts;
  const failure = verificationFailureFor(faults.verificationFailures, index, input.customerId);
  return ledger.commit(input, { idempotencyKey, now, adjusts, failure });
}

function resolveAdjusts(ledger: Ledger, input: DeltaInput, field: string): AdjustedDelta | { field: string; message: string } | null {
  const ref = input.adjusts;
  if (ref === null) return null;
  const target = 'referenceId' in ref ? ledger.findReference(ref.referenceId) : ledger.findRecord(ref.recordId);
  const key = `${field}.${'referenceId' in ref ? 'referenceId' : 'recordId'}`;
  if (!target) return { field: key, message: `${key} names no committed delta` };
  if (target.customerId !== input.customerId) return { field: key, message: `${key} names a delta of another customer; a delta can only adjust its own customer's entries` };
  return { recordId: target.recordId, referenceId: target.referenceId };
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
  const unknown = isPlainObject(body) ? Object.keys(body).find((key) => key !== 'deltas') : undefined;
  if (unknown !== undefined) return validationError(unknown, `${unknown} is not a batch field; the only one is deltas, an array of 1-${MAX_BATCH} delta objects`);
  const items = isPlainObject(body) ? body.deltas : undefined;
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_BATCH) {
    return validationError('deltas', `deltas is required: an array of 1-${MAX_BATCH} delta objects`);
  }
  const results: BatchResult[] = [];
  const counts: BatchItems = { total: items.length, committed: 0, replayed: 0, failed: 0, faulted: 0, failures: {} };
  const recordIds: string[] = [];
  const seen = new Set<ItemOutcome>();
  items.forEach((item: unknown, index) => {
    const [outcome, result] = batchItem(ledger, item, index, idempotencyKey, now, faults);
    seen.add(outcome);
    results.push(result);
    if (outcome === 'committed') recordIds.push(result.recordId!);
    if (outcome === 'committed' || outcome === 'replayed') counts[outcome]++;
    else {
      counts.failed++;
      if (outcome.startsWith('fault:')) counts.faulted++;
      counts.failures[result.error!] = (counts.failures[result.error!] ?? 0) + 1;
    }
  });
  const outcome = BATCH_OUTCOME_ORDER.find((o) => seen.has(o)) ?? 'invalid';
  const queued = counts.committed + counts.replayed;
  const links = recordIds.length === 0 ? undefined : { recordIds };
  return { status: 201, data: { totalQueued: queued, totalFailed: counts.failed, results }, outcome, items: counts, links };
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
  const d = commitDelta(ledger, input, `deltas[${index}].`, index, { idempotencyKey, now, faults });
  if ('field' in d) return ['invalid', { ...base, status: 'FAILED', error: 'VALIDATION_ERROR', field: d.field, message: d.message }];
  return ['committed', { ...base, status: 'QUEUED', recordId: d.recordId, receiptId: d.receiptId }];
}

/** The customer a (possibly invalid) body is about, for the request log. */
export function customerIdOf(body: unknown): string | undefined {
  return isPlainObject(body) && typeof body.customerId === 'string' ? body.customerId : undefined;
}

/** The distinct customers a (possibly invalid) batch body names, in order, for the request log; undefined when none. */
export function batchCustomerIds(body: unknown): string[] | undefined {
  const items = isPlainObject(body) && Array.isArray(body.deltas) ? body.deltas.slice(0, MAX_BATCH) : [];
  const customers = new Set<string>();
  for (const item of items) {
    const customer = customerIdOf(item);
    if (customer !== undefined) customers.add(customer);
  }
  return customers.size === 0 ? undefined : [...customers];
}
