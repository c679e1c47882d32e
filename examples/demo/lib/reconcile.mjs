// Reconciles what an app's clients saw (the calls recorded by traffic.mjs) with what PacSpace
// committed (the sandbox ledger): per customer, every successful paid call must be in the ledger
// exactly once under the referenceId derived from the request id the app echoed, and nothing else
// of that app may be there.
import { buildReferenceId } from '@pacspace-metering/core';
import { isBillable, PRICES, STORAGE_REASON } from './traffic.mjs';

/**
 * The deltas the calls should have produced: referenceId -> { customerId, reason, delta }.
 * Calls that share a request id (client retries with one Idempotency-Key) share a referenceId.
 */
export function expectedDeltas(calls, scope) {
  const expected = new Map();
  for (const call of calls) {
    if (!isBillable(call)) continue;
    if (!call.requestId) throw new Error(`${call.method} ${call.path} succeeded without an x-request-id header`);
    const referenceId = buildReferenceId({ scope, operation: call.reason, customerId: call.customerId, requestId: call.requestId });
    expected.set(referenceId, { customerId: call.customerId, reason: call.reason, delta: -PRICES[call.reason] });
  }
  return expected;
}

/** The app's per-request deltas in the ledger (its scope, not its storage windows). */
export function eventDeltas(ledger, scope) {
  return ledger.deltas.filter((d) => d.referenceId?.startsWith(`${scope}:`) && d.reason !== STORAGE_REASON);
}

/**
 * One row per customer: successful paid calls, distinct billable operations, deltas and units in
 * the ledger, duplicates, missing, unexpected, and the retries and replays the app's Meter saw
 * (`byCustomer` from its shutdown report, when there is one).
 */
export function reconcileEvents({ app, scope, calls, ledger, byCustomer = {} }) {
  const expected = expectedDeltas(calls, scope);
  const committed = eventDeltas(ledger, scope);
  const customers = [...new Set([...calls.map((c) => c.customerId).filter(Boolean), ...committed.map((d) => d.customerId)])].sort();
  return customers.map((customerId) => {
    const paidOk = calls.filter((c) => c.customerId === customerId && isBillable(c)).length;
    const mine = [...expected].filter(([, e]) => e.customerId === customerId);
    const inLedger = committed.filter((d) => d.customerId === customerId);
    const seen = new Map();
    for (const d of inLedger) seen.set(d.referenceId, (seen.get(d.referenceId) ?? 0) + 1);
    const duplicates = [...seen.values()].reduce((sum, n) => sum + (n - 1), 0);
    const missing = mine.filter(([referenceId]) => !seen.has(referenceId)).length;
    const unexpected = [...seen.keys()].filter((referenceId) => !expected.has(referenceId)).length;
    const unitsExpected = mine.reduce((sum, [, e]) => sum + e.delta, 0);
    const unitsInLedger = inLedger.reduce((sum, d) => sum + d.delta, 0);
    const meter = byCustomer[customerId] ?? {};
    return {
      app,
      customer: customerId,
      'paid calls ok': paidOk,
      billable: mine.length,
      'deltas in ledger': inLedger.length,
      units: `${unitsExpected} / ${unitsInLedger}`,
      duplicates,
      missing,
      unexpected,
      'meter retries': meter.retries ?? '-',
      'meter replays': meter.replays ?? '-',
      ok: duplicates === 0 && missing === 0 && unexpected === 0 && unitsExpected === unitsInLedger && inLedger.length === mine.length,
    };
  });
}

/**
 * The storage (periodic) windows an app reported delivering, against the ledger: each window's
 * items and units must be there once, under `{scope}:report_storage:{customer}:storage.{window}`.
 * `pendingWindow` is a window whose delivery had not finished at exit (the next start resumes it
 * with the same keys): what PacSpace already has of it is shown, not counted as unexpected.
 */
export function reconcileStorage({ app, scope, windows, pendingWindow = null, ledger }) {
  const committed = ledger.deltas.filter((d) => d.referenceId?.startsWith(`${scope}:`) && d.reason === STORAGE_REASON);
  const windowOf = (d) => d.referenceId.slice(d.referenceId.lastIndexOf(':storage.') + ':storage.'.length);
  const byReference = new Map();
  for (const d of committed) byReference.set(d.referenceId, (byReference.get(d.referenceId) ?? 0) + 1);
  const duplicates = [...byReference.values()].reduce((sum, n) => sum + (n - 1), 0);
  const delivered = new Set(windows.map((w) => w.key));
  const inDelivered = committed.filter((d) => delivered.has(windowOf(d)));
  const inPending = committed.filter((d) => windowOf(d) === pendingWindow);
  const unexpected = committed.length - inDelivered.length - inPending.length;
  const reportedItems = windows.reduce((sum, w) => sum + w.items, 0);
  const reportedUnits = windows.reduce((sum, w) => sum + w.total, 0);
  const ledgerUnits = inDelivered.reduce((sum, d) => sum + d.delta, 0);
  return {
    app,
    'windows delivered': windows.length,
    'items reported': reportedItems,
    'deltas in ledger': inDelivered.length,
    units: `${reportedUnits} / ${ledgerUnits}`,
    duplicates,
    unexpected,
    'window pending at exit': pendingWindow ? `${pendingWindow} (${inPending.length} in ledger)` : 'none',
    ok: duplicates === 0 && unexpected === 0 && inDelivered.length === reportedItems && reportedUnits === ledgerUnits,
  };
}
