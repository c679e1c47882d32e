// Aggregation mode vs per-request mode: the cost of `enqueue` on the request path, and the calls
// that reach the Balance API per 10,000 requests, against the sandbox, side by side in one run.
// Run by hand: pnpm build && node bench/aggregation.mjs [--requests 10000] [--rounds 7]
import { createAggregatingMeter, createMeter } from '@pacspace-metering/core';
import { startSandbox, sumByCustomer } from '@pacspace-metering/sandbox';
import { arg, median, printTable } from './support/report.mjs';

const requests = Number(arg('requests', 10_000));
const rounds = Number(arg('rounds', 7));
const T0 = Date.UTC(2025, 2, 1, 12);

/** Traffic shapes: how many customers, and how long the requests take to arrive (1-minute windows). */
const scenarios = [
  { customers: 1, spanMs: 60_000 },
  { customers: 50, spanMs: 60_000 },
  { customers: 50, spanMs: 10 * 60_000 },
  { customers: 500, spanMs: 60 * 60_000 },
];

const sandbox = await startSandbox({ seed: 1, maxRequestLog: 10 });

/** The same request inputs for both modes: customer, delta, reason, request id, route metadata. */
function inputs(customers) {
  return Array.from({ length: requests }, (_, i) => ({
    customerId: `cust-${i % customers}`,
    delta: -1,
    reason: 'api_request',
    requestId: `0f8fad5b-d9cb-469f-a165-${String(i).padStart(12, '0')}`,
    metadata: { route: '/v1/search', method: 'GET' },
  }));
}

async function run(mode, scenario) {
  sandbox.reset();
  const batch = inputs(scenario.customers);
  let now = T0;
  const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, maxQueueSize: requests, concurrency: 8 });
  const target = mode === 'aggregated' ? createAggregatingMeter(meter, { interval: '1m', now: () => now }) : meter;
  const step = scenario.spanMs / requests;
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) {
    now = T0 + Math.floor(i * step);
    target.enqueue(batch[i]);
  }
  const nsPerOp = Number(process.hrtime.bigint() - started) / requests;
  const report = await target.close({ timeoutMs: 600_000 });
  if (report.timedOut) throw new Error(`${mode}: close timed out`);
  const ledger = sandbox.ledger();
  const billed = Object.values(sumByCustomer(ledger)).reduce((a, b) => a + b, 0);
  if (billed !== -requests) throw new Error(`${mode}: billed ${billed}, expected ${-requests}`);
  return { nsPerOp, calls: ledger.counts.requests, deltas: ledger.deltas.length };
}

const rows = [];
for (const scenario of scenarios) {
  const results = { 'per-request': [], aggregated: [] };
  await run('per-request', scenario); // warm-up
  await run('aggregated', scenario);
  // Interleaved A B A B so machine noise hits both alike.
  for (let round = 0; round < rounds; round++) {
    results['per-request'].push(await run('per-request', scenario));
    results.aggregated.push(await run('aggregated', scenario));
  }
  const perRequestNs = median(results['per-request'].map((r) => r.nsPerOp));
  for (const mode of ['per-request', 'aggregated']) {
    const rs = results[mode];
    const ns = median(rs.map((r) => r.nsPerOp));
    rows.push({
      mode,
      customers: scenario.customers,
      'requests arrive over': `${scenario.spanMs / 60_000} min`,
      'enqueue ns/op (median)': Math.round(ns),
      'min..max': `${Math.round(Math.min(...rs.map((r) => r.nsPerOp)))}..${Math.round(Math.max(...rs.map((r) => r.nsPerOp)))}`,
      'vs per-request': (ns / perRequestNs).toFixed(2),
      [`API calls per ${requests} requests`]: rs[0].calls,
    });
  }
}
printTable(`Aggregation (1-minute windows) vs per-request metering, ${requests} requests per run, ${rounds} rounds`, rows);
await sandbox.close();
