// Memory during a PacSpace outage: the sandbox is down while 200,000 deltas are offered (100
// customers); peak RSS and heap stay bounded by the queue's size and the overflow sums, not by the
// number offered. Then the sandbox returns and the backlog drains; the amount billed is checked
// against the amount offered. Each configuration runs in a fresh process so heaps do not mix.
// Run: pnpm build && node bench/outage-memory.mjs [--offered 200000]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { arg, printTable } from './support/report.mjs';

const offered = Number(arg('offered', 200_000));
/** [maxQueueSize, overflow] per run. */
const setups = [[1_000, 'fold'], [10_000, 'fold'], [50_000, 'fold'], [10_000, 'drop']];

if (process.argv[2] === '--child') {
  const { createMeter } = await import('@pacspace-metering/core');
  const { startSandbox, sumByCustomer } = await import('@pacspace-metering/sandbox');
  const maxQueueSize = Number(process.argv[3]);
  const overflow = process.argv[4];
  const count = Number(process.argv[5]);
  const sandbox = await startSandbox({ maxRequestLog: 100 });
  await sandbox.stop();
  const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, maxQueueSize, overflow, maxQueueBytes: 256 * 2 ** 20, retryBaseDelayMs: 50, retryMaxDelayMs: 1000 });
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  // Offer deltas the way an API would during an outage: in bursts, with the event loop turning.
  for (let i = 0; i < count; i++) {
    meter.enqueue({ customerId: `cust-${i % 100}`, delta: -1, reason: 'api_request', requestId: `outage-${i}`, metadata: { route: '/v1/reports/:id', method: 'GET' } });
    if (i % 1000 === 999) {
      sample();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  sample();
  const stats = meter.stats();
  await sandbox.start();
  const started = process.hrtime.bigint();
  const report = await meter.flush({ timeoutMs: 600_000 });
  const drainMs = Number(process.hrtime.bigint() - started) / 1e6;
  await meter.close();
  const billed = -Object.values(sumByCustomer(sandbox.ledger())).reduce((a, b) => a + b, 0);
  await sandbox.close();
  process.send({
    maxQueueSize,
    overflow,
    offered: count,
    'queued at peak': stats.queued + stats.inFlight,
    'folded (sums)': `${stats.folded} (${stats.overflow.sums})`,
    'dropped (queue_full)': stats.dropped.queue_full ?? 0,
    'peak RSS MB (+ over start)': `${Math.round(peakRss / 2 ** 20)} (+${Math.round((peakRss - base.rss) / 2 ** 20)})`,
    'peak heap MB (+ over start)': `${Math.round(peakHeap / 2 ** 20)} (+${Math.round((peakHeap - base.heapUsed) / 2 ** 20)})`,
    'deltas delivered after return': report.delivered,
    'units billed / offered': (billed / count).toFixed(4),
    'drain ms': Math.round(drainMs),
  });
} else {
  const rows = [];
  for (const [size, overflow] of setups) {
    rows.push(
      await new Promise((resolve, reject) => {
        const child = fork(fileURLToPath(import.meta.url), ['--child', String(size), overflow, String(offered)], { execArgv: ['--expose-gc'] });
        child.once('message', resolve);
        child.once('exit', (code) => code && reject(new Error(`child exited ${code}`)));
      }),
    );
  }
  printTable(`Memory during an outage: ${offered} deltas offered with PacSpace down, then it returns`, rows);
}
