// Billing under load: an Express app with meterRequests and default options, driven by autocannon
// as fast as it will go, bills into the sandbox (another process) 50 ms away that fails now and
// then (3% 503, 2% connection resets, 2% commit-then-drop). After the run the app is closed
// (SIGTERM: server, then meter.close) and the ledger is compared with the successful calls the
// app counted itself. Three set-ups, interleaved, in one run: one delta per request with a full
// queue dropping (the defaults before batching), the same with a full queue folding into sums, and
// the defaults (batches, folding).
// Run: pnpm build && node bench/billing-under-load.mjs [--seconds 15] [--rounds 1] [--connections 32] [--latency 50]
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { ask, pinSelf, startChild, stop } from './support/processes.mjs';
import { arg, printTable } from './support/report.mjs';

if (process.argv[2] === '--app') {
  const { createMeter } = await import('@pacspace-metering/core');
  const { meterRequests } = await import('@pacspace-metering/express');
  const { default: express } = await import('express');
  const meter = createMeter({ apiKey: process.env.SANDBOX_KEY, baseUrl: process.env.SANDBOX_URL, scope: 'load', delivery: process.argv[3], overflow: process.argv[4] });
  let succeeded = 0;
  const app = express();
  app.use((req, res, next) => {
    res.on('finish', () => void (res.statusCode < 400 && succeeded++));
    next();
  });
  app.use(meterRequests(meter, { customerId: (req) => req.get('x-customer') ?? 'load-customer' }));
  app.get('/hello', (req, res) => res.send('hello'));
  const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', async (message) => {
    if (message !== 'close') return;
    await new Promise((resolve) => server.close(resolve));
    const close = await meter.close({ timeoutMs: 120_000 });
    process.send({ succeeded, close, stats: meter.stats() });
  });
} else {
  const seconds = Number(arg('seconds', 15));
  const rounds = Number(arg('rounds', 1));
  const connections = Number(arg('connections', 32));
  const latencyMs = Number(arg('latency', 50));
  const faults = { latencyMs, serverError: { rate: 0.03, statuses: [503] }, resetBeforeProcessing: { rate: 0.02 }, commitThenDrop: { rate: 0.02 } };
  const self = fileURLToPath(import.meta.url);
  const pinned = pinSelf(1);
  const { child: sandbox, first } = await startChild(fileURLToPath(new URL('./servers/sandbox.mjs', import.meta.url)), [], { cpu: pinned ? 1 : undefined });
  const env = { SANDBOX_URL: first.url, SANDBOX_KEY: first.apiKey };

  const setups = {
    'single, overflow drop (before)': ['single', 'drop'],
    'single, overflow fold': ['single', 'fold'],
    'batch, overflow fold (defaults)': ['batch', 'fold'],
  };

  async function measure(setup) {
    await ask(sandbox, 'reset');
    await ask(sandbox, { faults });
    const { child: app, first: { port } } = await startChild(self, ['--app', ...setups[setup]], { cpu: pinned ? 0 : undefined, env });
    const load = await autocannon({ url: `http://127.0.0.1:${port}/hello`, connections, duration: seconds });
    const report = await ask(app, 'close');
    await stop(app);
    const ledger = await ask(sandbox, 'ledger');
    return { rps: load.requests.average, ...report, ledger };
  }

  const samples = Object.fromEntries(Object.keys(setups).map((name) => [name, []]));
  try {
    for (let round = 0; round < rounds; round++) for (const name of Object.keys(setups)) samples[name].push(await measure(name));
  } finally {
    await stop(sandbox);
  }
  const rows = Object.entries(samples).flatMap(([name, runs]) =>
    runs.map((r) => ({
      'set-up': name,
      'req/s': Math.round(r.rps),
      'successful calls': r.succeeded,
      'deltas committed': r.ledger.committed,
      // Each call costs 1 unit (delta -1); an overflow sum carries many.
      'units billed / units owed': (-r.ledger.amount / r.succeeded).toFixed(4),
      'billed twice': r.ledger.duplicates,
      'dropped (by reason)': JSON.stringify(r.stats.dropped),
      folded: r.stats.folded,
      'API requests': r.ledger.requests,
      'API requests / call': (r.ledger.requests / Math.max(1, r.succeeded)).toFixed(4),
    })),
  );
  printTable(`Billing under load: ${seconds} s at full speed (${connections} connections), PacSpace ${latencyMs} ms away with 3% 503, 2% resets, 2% commit-then-drop; default options`, rows);
}
