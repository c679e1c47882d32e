// Deltas per second from one Meter to the sandbox, at several concurrency levels, with and without
// injected latency, next to the sandbox's own ceiling for raw POSTs in the same run.
// Run: pnpm build && node bench/delivery-throughput.mjs [--count 5000] [--rounds 3]
import autocannon from 'autocannon';
import { createMeter } from '@pacspace-metering/core';
import { startSandbox } from '@pacspace-metering/sandbox';
import { arg, median, printTable } from './support/report.mjs';

const count = Number(arg('count', 5000));
const rounds = Number(arg('rounds', 3));
const levels = [1, 8, 32];
const latencies = [0, 20];

const sandbox = await startSandbox({ seed: 1, maxRequestLog: 10 });

async function meterRun(concurrency, latencyMs) {
  sandbox.reset();
  sandbox.setFaults(latencyMs ? { latencyMs } : {});
  const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, concurrency, maxQueueSize: count });
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) meter.enqueue({ customerId: `c${i % 50}`, delta: -1, reason: 'bench', requestId: `r${i}` });
  const report = await meter.flush({ timeoutMs: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await meter.close();
  if (report.delivered !== count) throw new Error(`delivered ${report.delivered} of ${count}`);
  return count / seconds;
}

async function rawCeiling(connections) {
  sandbox.reset();
  sandbox.setFaults({});
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url: `${sandbox.url}/api/v1/balance/delta`,
    method: 'POST',
    connections,
    amount: count,
    headers: { 'content-type': 'application/json', 'x-api-key': sandbox.apiKey },
    body: JSON.stringify({ customerId: 'c1', delta: -1, reason: 'bench' }),
  });
  // Requests over the run's wall time (autocannon's per-second figures are coarse for short runs).
  return result.requests.total / (Number(process.hrtime.bigint() - started) / 1e9);
}

const rows = [];
for (const latencyMs of latencies) {
  for (const concurrency of levels) {
    const meterRates = [];
    const rawRates = [];
    // Interleaved A B A B so machine noise hits both alike.
    for (let round = 0; round < rounds; round++) {
      meterRates.push(await meterRun(concurrency, latencyMs));
      if (latencyMs === 0) rawRates.push(await rawCeiling(concurrency));
    }
    const m = median(meterRates);
    const raw = rawRates.length ? median(rawRates) : undefined;
    rows.push({
      latencyMs,
      concurrency,
      'meter deltas/s (median)': Math.round(m),
      'min..max': `${Math.round(Math.min(...meterRates))}..${Math.round(Math.max(...meterRates))}`,
      'raw POST/s (autocannon)': raw === undefined ? '-' : Math.round(raw),
      'meter / raw': raw === undefined ? '-' : (m / raw).toFixed(2),
    });
  }
}
printTable(`Delivery throughput, ${count} deltas per run, ${rounds} rounds`, rows);
await sandbox.close();
