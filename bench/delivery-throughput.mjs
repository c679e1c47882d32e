// Delivery capacity: deltas per second one Meter (default options) delivers to the sandbox in
// another process, with 0, 20, 50 and 200 ms of latency per request, one delta per request
// (`delivery: 'single'`) against batches (the default), side by side in one run. The queue is
// kept topped up (below `maxQueueSize`, so nothing folds), so what is measured is how fast the
// Meter can empty it: its capacity, and the API calls it spends per delta.
// Run: pnpm build && node bench/delivery-throughput.mjs [--seconds 4] [--rounds 2] [--latencies 0,20,50,200]
import { createMeter } from '@pacspace-metering/core';
import { fileURLToPath } from 'node:url';
import { ask, pinSelf, startChild, stop } from './support/processes.mjs';
import { arg, median, printTable } from './support/report.mjs';

const seconds = Number(arg('seconds', 4));
const rounds = Number(arg('rounds', 2));
const latencies = arg('latencies', '0,20,50,200').split(',').map(Number);
const modes = ['single', 'batch'];
const HELD = 9_000; // below the default maxQueueSize (10,000): the queue never folds

pinSelf(0);
const { child, first } = await startChild(fileURLToPath(new URL('./servers/sandbox.mjs', import.meta.url)), [], { cpu: 1 });

async function measure(mode, latencyMs) {
  await ask(child, 'reset');
  await ask(child, { faults: latencyMs ? { latencyMs } : {} });
  const meter = createMeter({ apiKey: first.apiKey, baseUrl: first.url, delivery: mode });
  let n = 0;
  const topUp = () => {
    const { queued, inFlight } = meter.stats();
    for (let held = queued + inFlight; held < HELD; held++) meter.enqueue({ customerId: `c${n % 50}`, delta: -1, reason: 'bench', requestId: `r${n++}` });
  };
  topUp();
  const producer = setInterval(topUp, 5);
  // Half a second to reach a steady state, then the window.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const start = { ...meter.stats(), at: process.hrtime.bigint() };
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const end = { ...meter.stats(), at: process.hrtime.bigint() };
  clearInterval(producer);
  await meter.close({ timeoutMs: 0 });
  const elapsed = Number(end.at - start.at) / 1e9;
  const delivered = end.delivered - start.delivered;
  return { rate: delivered / elapsed, callsPerDelta: (end.requests - start.requests) / Math.max(1, delivered) };
}

const rows = [];
try {
  for (const latencyMs of latencies) {
    const results = { single: [], batch: [] };
    // Interleaved, so machine noise hits both alike.
    for (let round = 0; round < rounds; round++) for (const mode of modes) results[mode].push(await measure(mode, latencyMs));
    const rate = (mode) => median(results[mode].map((r) => r.rate));
    const calls = (mode) => median(results[mode].map((r) => r.callsPerDelta));
    const span = (mode) => `${Math.round(Math.min(...results[mode].map((r) => r.rate)))}..${Math.round(Math.max(...results[mode].map((r) => r.rate)))}`;
    rows.push({
      'latency ms': latencyMs,
      'single: deltas/s': Math.round(rate('single')),
      'single: min..max': span('single'),
      'single: API calls/delta': calls('single').toFixed(3),
      'batch: deltas/s': Math.round(rate('batch')),
      'batch: min..max': span('batch'),
      'batch: API calls/delta': calls('batch').toFixed(4),
      'batch / single': (rate('batch') / rate('single')).toFixed(1),
    });
  }
} finally {
  await stop(child);
}
printTable(`Delivery capacity, default options, ${seconds} s windows, median of ${rounds} rounds (Meter on CPU 0, sandbox on CPU 1)`, rows);
