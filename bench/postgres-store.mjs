// The Postgres outbox against the memory and SQLite stores, side by side in one run, as ratios:
//   1. accept cost: wall-clock microseconds per meter.enqueue(), 100 per event-loop turn as a
//      server would, until every delta is durable (Postgres: every `committed` resolved; SQLite:
//      its commits), delivery held; plus the Postgres commit latency a response waits for;
//   2. delivery throughput from a pre-filled Postgres outbox with 1 and 3 instances (separate
//      processes, each a Meter on the shared outbox) to the sandbox, against an in-process Meter
//      on the memory store delivering as many deltas;
//   3. what a SIGKILL loses in each mode: a process enqueues bursts of 100 and kills itself;
//      lost = accepted - rows in the outbox; with PacSpace up (a queue of 1,000,000) and with
//      PacSpace down and a full queue (a memory window of 100, 1,900 deltas beyond it).
// Run: pnpm build && node bench/postgres-store.mjs [--count 5000] [--rounds 3] [--kills 5] [--pg URL]
//      [--parts accept,delivery,crash]
// Without --pg (or PACSPACE_TEST_PG_URL) it starts a throwaway cluster (fsync on) for the run.
import { createMeter } from '@pacspace-metering/core';
import { createPostgresStore, insertPrepared } from '@pacspace-metering/postgres-store';
import { startSandbox } from '@pacspace-metering/sandbox';
import { createSqliteStore } from '@pacspace-metering/sqlite-store';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startCluster } from '../examples/demo/lib/pg-cluster.mjs';
import { heldClient } from './support/held-client.mjs';
import { arg, median, printTable } from './support/report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const count = Number(arg('count', 5000));
const rounds = Number(arg('rounds', 3));
const kills = Number(arg('kills', 5));
const parts = new Set(arg('parts', 'accept,delivery,crash').split(','));
const given = arg('pg', process.env.PACSPACE_TEST_PG_URL);
const cluster = given ? undefined : await startCluster();
// The throwaway cluster goes with the bench, whatever ends it.
process.on('exit', () => cluster?.stop());
const adminUrl = given ?? cluster.url;
const dir = mkdtempSync(join(tmpdir(), 'postgres-store-bench-'));
let databases = 0;

/** A fresh database on the server, for one measurement. */
async function freshDatabase() {
  const name = `bench_${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const acceptVariants = [
  { name: 'memory (baseline)', open: async () => undefined },
  { name: 'sqlite, commit per add (default)', open: async () => createSqliteStore({ path: join(dir, `s-${++databases}.db`) }) },
  { name: 'sqlite, group commit 5 ms', open: async () => createSqliteStore({ path: join(dir, `s-${++databases}.db`), commitWindowMs: 5 }) },
  { name: 'postgres, group commit per tick (write-behind)', open: async () => createPostgresStore({ connectionString: await freshDatabase() }) },
];

/** µs per enqueue until all are durable, and (Postgres) the median ms from enqueue to `committed`. */
async function acceptCost(variant, round) {
  const store = await variant.open();
  const client = heldClient();
  const meter = createMeter({ client, concurrency: 8, maxQueueSize: count + 1_000, maxQueueBytes: 1024 ** 3, ...(store ? { store } : {}) });
  const latencies = [];
  const committed = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; ) {
    for (const end = Math.min(count, i + 100); i < end; i++) {
      const at = performance.now();
      const result = meter.enqueue({ customerId: `c${i % 50}`, delta: -1, reason: 'bench', requestId: `r${round}-${i}`, metadata: { route: '/v1/reports/:id', method: 'GET' } });
      if (!result.accepted) throw result.error;
      if (result.committed) committed.push(result.committed.then((ok) => (ok ? latencies.push(performance.now() - at) : Promise.reject(new Error('not durable')))));
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(committed);
  store?.commit?.();
  const elapsed = process.hrtime.bigint() - started;
  // One delta at a time, each awaited: what a request pays on a quiet server.
  const quiet = [];
  for (let i = 0; i < 200; i++) {
    const at = performance.now();
    const result = meter.enqueue({ customerId: 'quiet', delta: -1, reason: 'bench', requestId: `q${round}-${i}` });
    if (result.committed) await result.committed;
    quiet.push(performance.now() - at);
  }
  client.release();
  await meter.close({ timeoutMs: 600_000 });
  return { micros: Number(elapsed) / 1e3 / count, latencyMs: latencies.length ? median(latencies) : 0, quietMs: median(quiet) };
}

/** Fills a fresh outbox with `count` unleased rows, frozen by a meter's prepare(). */
async function filledOutbox(round) {
  const url = await freshDatabase();
  const store = await createPostgresStore({ connectionString: url });
  // The account the instances run with (bench/support/pg-instance.mjs): they deliver only its rows.
  const meter = createMeter({ apiKey: 'psk_bench_unused', baseUrl: 'http://127.0.0.1:9', store, account: 'bench' });
  const client = await store.pool.connect();
  await client.query('BEGIN');
  for (let i = 0; i < count; i++) await insertPrepared(client, meter.prepare({ customerId: `c${i % 50}`, delta: -1, reason: 'bench', requestId: `d${round}-${i}` }));
  await client.query('COMMIT');
  client.release();
  await meter.close();
  await store.close();
  return url;
}

function startInstance(url, sandbox) {
  const child = spawn(process.execPath, [join(HERE, 'support', 'pg-instance.mjs'), url, sandbox.url, sandbox.apiKey], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise((resolve) => lines.once('line', (line) => resolve(JSON.parse(line))));
  return { child, next };
}

/** Deltas per second draining a filled outbox with `n` instances. */
async function drainRate(sandbox, n, round) {
  const url = await filledOutbox(round);
  sandbox.reset();
  const instances = Array.from({ length: n }, () => startInstance(url, sandbox));
  await Promise.all(instances.map((i) => i.next()));
  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  const started = process.hrtime.bigint();
  for (const i of instances) i.child.stdin.write('go\n');
  while (sandbox.ledger().deltas.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const i of instances) i.child.kill('SIGTERM');
  await Promise.all(instances.map((i) => i.next()));
  const left = Number((await probe.query('SELECT count(*) AS n FROM pacspace_metering.outbox')).rows[0].n);
  await probe.end();
  const { deltas } = sandbox.ledger();
  if (new Set(deltas.map((d) => d.referenceId)).size !== count || deltas.length !== count) throw new Error(`${n} instance(s): ${deltas.length} deltas in the ledger for ${count} rows`);
  if (left !== 0) throw new Error(`${n} instance(s): ${left} rows left`);
  return count / seconds;
}

/** The in-process baseline: a Meter on the memory store delivering `count` deltas. */
async function memoryRate(sandbox, round) {
  sandbox.reset();
  const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, concurrency: 8, maxQueueSize: count });
  for (let i = 0; i < count; i++) meter.enqueue({ customerId: `c${i % 50}`, delta: -1, reason: 'bench', requestId: `m${round}-${i}` });
  const started = process.hrtime.bigint();
  const report = await meter.flush({ timeoutMs: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await meter.close();
  if (report.delivered !== count) throw new Error(`memory: delivered ${report.delivered}`);
  return count / seconds;
}

/** Accepted deltas a SIGKILL lost in `mode`, over `kills` runs of `bursts` bursts of 100. */
async function crashLoss(mode, bursts) {
  const lost = [];
  for (let k = 0; k < kills; k++) {
    const target = mode.startsWith('postgres') ? await freshDatabase() : join(dir, `crash-${++databases}.db`);
    const run = spawnSync(process.execPath, [join(HERE, 'support', 'crash-enqueue.mjs'), mode, target, String(bursts)], { encoding: 'utf8' });
    if (run.signal !== 'SIGKILL') throw new Error(`${mode}: the process ended with ${run.status}/${run.signal}: ${run.stderr}`);
    let kept;
    if (mode.startsWith('postgres')) {
      const client = new pg.Client({ connectionString: target });
      await client.connect();
      kept = Number((await client.query('SELECT (SELECT count(*) FROM pacspace_metering.outbox) + (SELECT count(*) FROM pacspace_metering.dead_letters) AS n')).rows[0].n);
      await client.end();
    } else {
      const { SqliteOutbox } = await import('@pacspace-metering/sqlite-store');
      const file = SqliteOutbox.open(target);
      const status = file.status();
      kept = status.pending + status.deadLetters.total;
      file.close();
    }
    lost.push(bursts * 100 - kept);
  }
  return lost;
}

const sandbox = await startSandbox({ seed: 1, maxRequestLog: 10 });
const accept = acceptVariants.map(() => ({ micros: [], latency: [], quiet: [] }));
const delivery = { memory: [], one: [], three: [] };
// Round 0 warms the JIT, the disk and the server and is not counted.
for (let round = 0; round <= rounds && (parts.has('accept') || parts.has('delivery')); round++) {
  if (parts.has('accept')) {
    for (const [i, variant] of acceptVariants.entries()) {
      const { micros, latencyMs, quietMs } = await acceptCost(variant, round);
      if (round > 0) {
        accept[i].micros.push(micros);
        accept[i].latency.push(latencyMs);
        accept[i].quiet.push(quietMs);
      }
    }
  }
  if (parts.has('delivery')) {
    const m = await memoryRate(sandbox, round);
    const one = await drainRate(sandbox, 1, round);
    const three = await drainRate(sandbox, 3, round);
    if (round > 0) {
      delivery.memory.push(m);
      delivery.one.push(one);
      delivery.three.push(three);
    }
  }
}
const crashModes = ['sqlite', 'sqlite-group', 'postgres', 'postgres-await'];
const losses = {};
if (parts.has('crash')) for (const mode of crashModes) for (const variant of [mode, `${mode}-full`]) losses[variant] = await crashLoss(variant, 20);

const fmt = (values, digits) => `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)})`;
const ratios = (values, baseline) => values.map((v, k) => v / baseline[k]);
if (parts.has('accept')) printTable(`Accept cost until durable, ${count} enqueues per round (100 per event-loop turn), ${rounds} interleaved rounds (median (min..max))`, acceptVariants.map((variant, i) => ({
  store: variant.name,
  'µs per delta': fmt(accept[i].micros, 2),
  'cost vs memory (x)': fmt(ratios(accept[i].micros, accept[0].micros), 2),
  'under the burst: enqueue -> durable, median ms': i === 3 ? fmt(accept[i].latency, 2) : 'at enqueue',
  'one at a time: enqueue -> durable, median ms': fmt(accept[i].quiet, 3),
})));
if (parts.has('delivery')) printTable(`Delivery from the outbox to the sandbox, ${count} deltas per round, concurrency 8 per instance, ${rounds} rounds (median (min..max))`, [
  { source: 'memory store, in-process (baseline)', 'deltas/s': fmt(delivery.memory, 0), 'vs memory': '1.00', 'vs 1 instance': '' },
  { source: 'postgres outbox, 1 instance', 'deltas/s': fmt(delivery.one, 0), 'vs memory': fmt(ratios(delivery.one, delivery.memory), 2), 'vs 1 instance': '1.00' },
  { source: 'postgres outbox, 3 instances', 'deltas/s': fmt(delivery.three, 0), 'vs memory': fmt(ratios(delivery.three, delivery.memory), 2), 'vs 1 instance': fmt(ratios(delivery.three, delivery.one), 2) },
]);
const crashNames = {
  sqlite: 'sqlite, commit per add (default)',
  'sqlite-group': 'sqlite, group commit 5 ms',
  postgres: 'postgres, killed right after enqueue (nothing awaited)',
  'postgres-await': 'postgres, killed after `committed` resolved (what the middleware waits for)',
};
if (parts.has('crash')) printTable(`What a SIGKILL loses: 2,000 deltas enqueued in 20 bursts of 100, then kill -9, ${kills} runs each`, crashModes.map((mode) => ({
  mode: crashNames[mode],
  'lost per run, PacSpace up': losses[mode].join(', '),
  'lost per run, PacSpace down, queue full (window of 100)': losses[`${mode}-full`].join(', '),
})));
console.log(`\nnode ${process.version}, PostgreSQL at ${given ? 'the given URL' : 'a throwaway cluster (fsync on)'}, ${count} deltas`);
await sandbox.close();
rmSync(dir, { recursive: true, force: true });
