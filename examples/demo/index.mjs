// The main job in one run: a local PacSpace (the sandbox) that fails often, a Meter pushing usage
// to it through those failures, and a reconciliation of what was sent against what was committed.
// Exits non-zero if any customer's row does not reconcile.
import { createMeter } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox } from '@pacspace-metering/sandbox';

const customers = ['acme', 'globex', 'initech', 'umbrella'];
const perCustomer = 250;

const sandbox = await startSandbox({
  seed: 2026,
  faults: {
    serverError: { rate: 0.15 },
    resetBeforeProcessing: { rate: 0.05 },
    commitThenDrop: { rate: 0.05 },
    rateLimit: { requests: [400], retryAfterSeconds: 1 },
  },
});
console.log(`sandbox listening on ${sandbox.url} (15% 5xx, 5% resets, 5% commit-then-drop, one 429 Retry-After: 1)`);

const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'demo', retryBaseDelayMs: 20, retryMaxDelayMs: 500 });
const sent = new Map(customers.map((c) => [c, { calls: 0, units: 0 }]));
for (let i = 0; i < perCustomer * customers.length; i++) {
  const customerId = customers[i % customers.length];
  const delta = i % 10 === 0 ? -5 : -1;
  const result = meter.enqueue({ customerId, delta, reason: delta === -5 ? 'report_generated' : 'api_request', requestId: `demo-${i}` });
  if (!result.accepted) throw result.error;
  const row = sent.get(customerId);
  row.calls++;
  row.units += delta;
}

const progress = setInterval(() => {
  const s = meter.stats();
  console.log(`  delivered ${s.delivered}/${s.accepted}, retried ${s.retried}, replays ${s.deduplicated}, in flight ${s.inFlight}${s.pausedUntil ? ', paused (Retry-After)' : ''}`);
}, 500);
const report = await meter.flush({ timeoutMs: 60_000 });
clearInterval(progress);

const ledger = sandbox.ledger();
const duplicates = new Set(duplicateReferenceIds(ledger));
const rows = customers.map((customerId) => {
  const committed = ledger.deltas.filter((d) => d.customerId === customerId);
  const units = committed.reduce((sum, d) => sum + d.delta, 0);
  const mine = sent.get(customerId);
  const dupes = committed.filter((d) => duplicates.has(d.referenceId)).length;
  return { customer: customerId, 'calls sent': mine.calls, 'deltas in ledger': committed.length, 'units sent': mine.units, 'units in ledger': units, duplicates: dupes, missing: mine.calls - (committed.length - dupes), ok: mine.calls === committed.length && mine.units === units && dupes === 0 ? 'yes' : 'NO' };
});
console.table(rows);
const stats = meter.stats();
console.log(`meter: delivered ${stats.delivered}, replays (deduplicated) ${stats.deduplicated}, retries ${stats.retried}, dropped ${JSON.stringify(stats.dropped)}`);
console.log(`sandbox saw ${ledger.counts.requests} requests for ${ledger.deltas.length} committed deltas`);
await meter.close();
await sandbox.close();
const ok = !report.timedOut && rows.every((r) => r.ok === 'yes');
console.log(ok ? 'RECONCILED: every call billed exactly once.' : 'NOT RECONCILED');
process.exit(ok ? 0 : 1);
