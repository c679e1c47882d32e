// The SQLite store against the memory store, side by side in one run, as ratios:
//   1. enqueue cost: wall-clock microseconds per meter.enqueue() (validation, serialization,
//      store.add) and whatever commits the store makes meanwhile, enqueued 100 per event-loop turn
//      as a server would, with delivery held (the client answers only once timing is over);
//   2. delivery throughput: deltas per second from one Meter to the sandbox over loopback;
//   3. request path: requests per second of an Express hello world metered by meterRequests()
//      (autocannon, 10 connections), delivery held as in (1), so only the request path differs.
// Rounds are interleaved (memory, sqlite variants, memory, ...) so machine noise hits all alike.
// Run: pnpm build && node bench/sqlite-store.mjs [--count 5000] [--rounds 5] [--seconds 3] [--dir /tmp]
//      [--parts enqueue,delivery,requests]
import autocannon from 'autocannon';
import { createMeter } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import { startSandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '@pacspace-metering/sqlite-store';
import { heldClient } from './support/held-client.mjs';
import { arg, median, printTable } from './support/report.mjs';

const count = Number(arg('count', 5000));
const rounds = Number(arg('rounds', 5));
const seconds = Number(arg('seconds', 3));
const dir = mkdtempSync(join(arg('dir', tmpdir()), 'sqlite-store-bench-'));
const parts = new Set(arg('parts', 'enqueue,delivery,requests').split(','));

/** The stores compared; `undefined` options mean the meter's default MemoryStore. */
const sqliteVariants = [
  { name: 'commit per add, synchronous=normal (default)', store: {} },
  { name: 'commit per add, synchronous=full', store: { synchronous: 'full' } },
  { name: 'group commit 5 ms, synchronous=normal', store: { commitWindowMs: 5 } },
  { name: 'group commit 5 ms, synchronous=full', store: { synchronous: 'full', commitWindowMs: 5 } },
];
const variants = [
  { name: 'memory (baseline)', store: undefined },
  ...sqliteVariants.map((v) => ({ name: `sqlite, ${v.name}`, store: v.store })),
];

const sandbox = await startSandbox({ seed: 1, maxRequestLog: 10 });
let file = 0;

function newMeter(variant, client, maxQueueSize = count) {
  const store = variant.store && createSqliteStore({ path: join(dir, `store-${++file}.db`), ...variant.store });
  const delivery = client ? { client } : { apiKey: sandbox.apiKey, baseUrl: sandbox.url };
  const meter = createMeter({ ...delivery, concurrency: 8, maxQueueSize, maxQueueBytes: 1024 * 1024 * 1024, ...(store ? { store } : {}) });
  return { meter, store };
}

function enqueue(meter, round, i) {
  const result = meter.enqueue({ customerId: `c${i % 50}`, delta: -1, reason: 'bench', requestId: `r${round}-${i}`, metadata: { route: '/v1/reports/:id', method: 'GET' } });
  if (!result.accepted) throw result.error;
}

function enqueueAll(meter, round) {
  for (let i = 0; i < count; i++) enqueue(meter, round, i);
}

/** Wall-clock microseconds per enqueue, 100 per event-loop turn, commits included. */
async function enqueueCost(variant, round) {
  const client = heldClient();
  const { meter, store } = newMeter(variant, client);
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; ) {
    for (const end = Math.min(count, i + 100); i < end; i++) enqueue(meter, round, i);
    await new Promise((resolve) => setImmediate(resolve));
  }
  // A group-commit window still open is committed now, so its cost is counted.
  store?.commit();
  const elapsed = process.hrtime.bigint() - started;
  client.release();
  await meter.close({ timeoutMs: 600_000 });
  return Number(elapsed) / 1e3 / count;
}

/** Deltas per second from enqueued to delivered (flush resolved). */
async function deliveryRate(variant, round) {
  sandbox.reset();
  const { meter } = newMeter(variant);
  enqueueAll(meter, round);
  const started = process.hrtime.bigint();
  const report = await meter.flush({ timeoutMs: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await meter.close();
  if (report.delivered !== count) throw new Error(`${variant.name}: delivered ${report.delivered} of ${count}`);
  return count / seconds;
}

/** Requests per second of a metered Express hello world, delivery held. */
async function requestRate(variant) {
  const client = heldClient();
  const { meter } = newMeter(variant, client, 10_000_000);
  const app = express();
  app.use(meterRequests(meter, { customerId: () => 'acme' }));
  app.get('/hello', (_req, res) => void res.send('hello'));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const result = await autocannon({ url: `http://127.0.0.1:${server.address().port}/hello`, connections: 10, duration: seconds });
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  client.release();
  await meter.close({ timeoutMs: 600_000 });
  if (result.non2xx || result.errors) throw new Error(`${variant.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

const enqueueMicros = variants.map(() => []);
const delivery = variants.map(() => []);
const requests = variants.map(() => []);
// Round 0 warms the JIT and the disk and is not counted.
for (let round = 0; round <= rounds; round++) {
  for (const [i, variant] of variants.entries()) {
    const micros = parts.has('enqueue') ? await enqueueCost(variant, round) : NaN;
    const rate = parts.has('delivery') ? await deliveryRate(variant, round) : NaN;
    const rps = parts.has('requests') ? await requestRate(variant) : NaN;
    if (round === 0) continue;
    enqueueMicros[i].push(micros);
    delivery[i].push(rate);
    requests[i].push(rps);
  }
}

const fmt = (values, digits) => `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)})`;
const ratios = (values, baseline) => values.map((v, k) => v / baseline[k]);
if (parts.has('enqueue')) printTable(`Enqueue cost, ${count} enqueues per round, ${rounds} interleaved rounds (median (min..max))`, variants.map((variant, i) => ({
  store: variant.name,
  'µs per enqueue': fmt(enqueueMicros[i], 2),
  'cost vs memory (x)': fmt(ratios(enqueueMicros[i], enqueueMicros[0]), 2),
})));
if (parts.has('delivery')) printTable(`Delivery throughput to the sandbox, ${count} deltas per round, concurrency 8, ${rounds} interleaved rounds (median (min..max))`, variants.map((variant, i) => ({
  store: variant.name,
  'deltas/s': fmt(delivery[i], 0),
  'throughput vs memory': fmt(ratios(delivery[i], delivery[0]), 2),
})));
if (parts.has('requests')) printTable(`Request path: Express hello world + meterRequests(), autocannon 10 connections, ${seconds} s per run, delivery held, ${rounds} interleaved rounds (median (min..max))`, variants.map((variant, i) => ({
  store: variant.name,
  'requests/s': fmt(requests[i], 0),
  'throughput vs memory': fmt(ratios(requests[i], requests[0]), 2),
})));
console.log(`\nnode ${process.version}, node:sqlite, ${count} deltas, store files in ${dir} (removed)`);
await sandbox.close();
rmSync(dir, { recursive: true, force: true });
