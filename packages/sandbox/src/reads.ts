import { errorReply, reply, validationError, type Reply } from './envelope.js';
import { parseDeriveQuery } from './derive-scope.js';
import type { Ledger } from './ledger.js';
import { CUSTOMER_ID_PATTERN } from './validation.js';
import { sum, verifiedIn } from './verified.js';

/**
 * GET /api/v1/balance/delta/:recordId: the delta's lifecycle status at the time of the read;
 * `verifiedAt` once VERIFIED, `failedAt` and `error` once FAILED.
 */
export function getDelta(ledger: Ledger, recordId: string, now: number): Reply {
  const stored = ledger.findRecord(recordId);
  if (!stored) return errorReply(404, 'NOT_FOUND', `No delta with recordId ${recordId}`, 'not-found');
  const d = ledger.view(stored, now);
  const data: Record<string, unknown> = {
    recordId: d.recordId,
    status: d.status,
    customerId: d.customerId,
    delta: d.delta,
    reason: d.reason,
    referenceId: d.referenceId,
    receiptId: d.receiptId,
    verifiedAt: d.status === 'VERIFIED' ? d.settledAt : null,
  };
  if (d.status === 'FAILED') Object.assign(data, { failedAt: d.settledAt, error: d.error });
  return reply({ status: 200, data, outcome: 'read', customerId: d.customerId });
}

/**
 * GET /api/v1/balance/derive/:customerId. The balance (plus `startingBalance`) and the count cover
 * every VERIFIED delta in scope, whatever the page; only the `deltas` list is paged.
 */
export function derive(ledger: Ledger, customerId: string, query: URLSearchParams, now: number): Reply {
  if (!CUSTOMER_ID_PATTERN.test(customerId)) {
    return validationError('customerId', 'customerId must be 1-128 characters of letters, digits, _ . : -');
  }
  const parsed = parseDeriveQuery(query, now);
  if ('status' in parsed) return { ...parsed, customerId };
  const { range, startingBalance, limit, offset } = parsed;
  const matching = verifiedIn(ledger, ledger.customerDeltas(customerId), range, now);
  const data = {
    customerId,
    computedBalance: startingBalance + sum(matching),
    startingBalance,
    deltasCount: matching.length,
    latestReceiptId: matching.at(-1)?.receiptId ?? null,
    startDate: new Date(range.start).toISOString(),
    endDate: new Date(range.end).toISOString(),
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
