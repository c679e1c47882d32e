// What withMeterFlush (@pacspace-metering/core/serverless) costs a Lambda-style invocation: the
// same handlers called the way Lambda calls them, one invocation at a time (one instance), without
// the wrapper and with it, with the sandbox (in its own process) local and 50 ms away (its latency
// fault), and once with it answering 503 to everything (the bounded wait). Per invocation: wall
// time (median, p95), CPU time of this process, and requests to PacSpace. Side by side in one run,
// after an untimed warm-up; wall time moves with the machine's load, so compare within a run.
//
// Two handlers: a plain event handler that enqueues one delta, and an Express app with
// meterRequests() behind serverless-http (an API Gateway event per invocation).
// Run: pnpm build && node bench/serverless-flush.mjs [--invocations 300] [--outage 10]
import { createMeter } from '@pacspace-metering/core';
import { withMeterFlush } from '@pacspace-metering/core/serverless';
import { meterRequests } from '@pacspace-metering/express';
import express from 'express';
import serverless from 'serverless-http';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ask, startChild, stop } from './support/processes.mjs';
import { arg, median, printTable } from './support/report.mjs';

const invocations = Number(arg('invocations', 300));
const outageInvocations = Number(arg('outage', 10));
const { child, first } = await startChild(fileURLToPath(new URL('./servers/sandbox.mjs', import.meta.url)), []);

/** Lambda's context: an id and the time left before a 30 s timeout. */
function lambdaContext() {
  const deadline = Date.now() + 30_000;
  return { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now() };
}

/** An API Gateway (REST API) proxy event for GET /reports/:id. */
function apiGatewayEvent(i) {
  return {
    path: `/reports/r-${i}`, httpMethod: 'GET', headers: { 'x-account': 'acct-bench' }, multiValueHeaders: {},
    queryStringParameters: null, multiValueQueryStringParameters: null, body: null, isBase64Encoded: false,
    requestContext: { requestId: randomUUID(), identity: { sourceIp: '198.51.100.7' } },
  };
}

/** The two handlers, each over its own Meter (default options, as an instance would have). */
const handlers = {
  'event handler': (meter) => async (event) => {
    meter.enqueue({ customerId: 'acct-bench', delta: -1, reason: 'job_run', requestId: event.id });
    return { ok: true };
  },
  'Express via serverless-http': (meter) => {
    const app = express();
    app.use(meterRequests(meter, { customerId: (req) => req.get('x-account') }));
    app.get('/reports/:id', (req, res) => void res.json({ id: req.params.id }));
    return serverless(app);
  },
};

/** Runs `count` invocations of one variant; per-invocation wall ms, CPU µs and API calls. */
async function run(name, wrapped, { latencyMs = 0, outage = false, count = invocations } = {}) {
  await ask(child, 'reset');
  await ask(child, { faults: outage ? { serverError: { rate: 1, statuses: [503] } } : latencyMs ? { latencyMs } : {} });
  const quiet = () => undefined;
  const meter = createMeter({ apiKey: first.apiKey, baseUrl: first.url, logger: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
  const base = handlers[name](meter);
  const handler = wrapped ? withMeterFlush(meter, base) : base;
  const walls = [];
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const event = name === 'event handler' ? { id: `inv-${i}-${randomUUID()}` } : apiGatewayEvent(i);
    const started = process.hrtime.bigint();
    await handler(event, lambdaContext());
    walls.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const cpu = process.cpuUsage(cpuStart);
  const deliveredAtEnd = meter.stats().delivered;
  await meter.close({ timeoutMs: outage ? 0 : 10_000 });
  const ledger = await ask(child, 'ledger');
  walls.sort((a, b) => a - b);
  return {
    wallMedian: median(walls),
    wallP95: walls[Math.floor(walls.length * 0.95)],
    cpuUs: (cpu.user + cpu.system) / count,
    requestsPer: ledger.requests / count,
    deliveredAtReturn: deliveredAtEnd,
    count,
  };
}

const rows = [];
try {
  for (const name of Object.keys(handlers)) {
    // Untimed: JIT, the keep-alive socket to the sandbox, Express's first requests.
    await run(name, true, { count: 50 });
    const bare = await run(name, false);
    const variants = [
      ['no wrapper (sandbox local)', bare],
      ['withMeterFlush, sandbox local', await run(name, true)],
      ['withMeterFlush, sandbox 50 ms away', await run(name, true, { latencyMs: 50 })],
      ['withMeterFlush, sandbox answering 503 (bounded wait)', await run(name, true, { outage: true, count: outageInvocations })],
    ];
    for (const [variant, r] of variants) {
      rows.push({
        handler: name,
        variant,
        invocations: r.count,
        'wall ms (median)': r.wallMedian.toFixed(2),
        'wall ms (p95)': r.wallP95.toFixed(2),
        'added ms (median)': (r.wallMedian - bare.wallMedian).toFixed(2),
        'CPU µs / invocation': Math.round(r.cpuUs),
        'added CPU µs': Math.round(r.cpuUs - bare.cpuUs),
        'API calls / invocation': r.requestsPer.toFixed(2),
        'delivered before the last return': `${r.deliveredAtReturn}/${r.count}`,
      });
    }
  }
  printTable(`Serverless invocations, one at a time, ${invocations} per variant (${outageInvocations} in the outage), sandbox in another process`, rows);
} finally {
  await stop(child);
}
