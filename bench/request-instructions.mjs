// Request-path cost in CPU instructions: each variant's server runs under valgrind's callgrind,
// which counts the instructions the process executes, not seconds. The count does not move when
// the machine is busy, so the small differences this benchmark is about (a few percent of a
// hello-world) stand out of the noise that wall-clock throughput has on these VMs.
//
// Per measurement: start the variant under callgrind with counting off, warm up (JIT, sockets),
// switch counting on, send a fixed number of requests, dump, stop. Node runs with --predictable
// (no background compiler or GC threads: the same inputs give the same count), and each variant is
// measured once per --random-seed: a seed changes V8's hashing, object placement and GC timing,
// which moves a count by ±1% usually and up to 4% sometimes; the median over seeds is reported.
// Kernel work (the socket writes, the same for every variant; ~10% of a hello-world's CPU here, see
// the "user share" column of request-overhead.mjs) is not counted, so instruction ratios are a
// slightly conservative bound on throughput ratios.
//
// Rows: by default those of issue #25 (bare, two floors that bill nothing, the middleware alone,
// delivering to the sandbox, for Express and Nest; the peers' SDKs delivering to a local sink);
// `--variants a,b` picks variants by substring, `--variants all` runs every one. Each delivering row
// says how many of the requests it was sent (warm-up included) reached the other end: the
// sandbox's committed deltas, or the events the sink counted, after the server flushed what it
// still held.
//
// Run: pnpm build && node bench/request-instructions.mjs [--only express,nest|fastify|all] [--variants a,b|all]
//        [--seeds 3] [--requests 10000] [--warmup 5000] [--connections 8] [--jobs 2] [--timeout 60]
import autocannon from 'autocannon';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expressVariants } from './servers/express-variants.mjs';
import { fastifyVariants } from './servers/fastify-variants.mjs';
import { nestVariants } from './servers/nest-variants.mjs';
import { startSandbox } from '@pacspace-metering/sandbox';
import { peerVariants } from './servers/peer-variants.mjs';
import { startSink } from './servers/sink.mjs';
import { stop } from './support/processes.mjs';
import { arg, median, printTable } from './support/report.mjs';

const seeds = Number(arg('seeds', 3));
const requests = Number(arg('requests', 10000));
const warmup = Number(arg('warmup', 5000));
const connections = Number(arg('connections', 8));
const jobs = Number(arg('jobs', 2));
// Seconds autocannon waits for an answer: a loaded machine slows a server under callgrind a lot.
const timeout = Number(arg('timeout', 60));
// Fastify has no row in issue #25: `--only express,nest,fastify` (or `all`) adds it.
const only = arg('only', 'express,nest');
const runs = (group) => only === 'all' || only.split(',').includes(group);
const pick = arg('variants', '');
const serverScript = fileURLToPath(new URL('./servers/server.mjs', import.meta.url));
// The rows of issue #25, the default set: the first of each group is its bare app.
const issueRows = new Set([
  // Floors: the cheapest ways to learn that a response finished, billing nothing.
  'express + res.once(finish)',
  'express + diagnostics_channel finish subscriber (floor)',
  'express + meterRequests (stub meter: middleware alone)',
  'express + meterRequests (to sandbox)',
  ...Object.keys(peerVariants),
  'nest + @Metered (stub meter: decorator alone)',
  'nest + @Metered (to sandbox)',
]);

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('valgrind is needed for this benchmark (Debian: apt-get install valgrind)');
  process.exit(1);
}

const outDir = mkdtempSync(join(tmpdir(), 'request-instructions-'));

/**
 * Where a variant delivers, started for its measurement alone (in this process, which callgrind
 * does not count), so parallel measurements never share a count: the sandbox for our Meter's
 * rows, the sink for the peers', nothing for the others.
 */
async function startReceiver(variant) {
  if (variant.includes('sandbox')) {
    const sandbox = await startSandbox({ maxRequestLog: 100 });
    // Committed deltas, and the API requests that carried them (deltas per request = batch fill).
    const received = () => {
      const { committed, requests } = sandbox.ledger().counts;
      return `${committed} (${requests} POSTs)`;
    };
    return { env: { SANDBOX_URL: sandbox.url, SANDBOX_KEY: sandbox.apiKey }, received, close: () => sandbox.close() };
  }
  if (variant in peerVariants) {
    const sink = await startSink();
    return { env: { SINK_URL: sink.url }, received: sink.received, close: sink.close };
  }
  return undefined;
}

/** Asks the server to deliver what it still holds; gives up after `timeout` seconds (said on stderr). */
function flushServer(child, variant) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.stderr.write(`${variant}: no answer to flush after ${timeout} s\n`);
      resolve();
    }, timeout * 1000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.send('flush');
  });
}

/** Instructions per request of one variant under one seed, and what reached its receiver. */
async function measure(variant, seed) {
  const receiver = await startReceiver(variant);
  const env = receiver?.env ?? {};
  const prefix = join(outDir, `cg-${seed}-${Math.random().toString(36).slice(2)}`);
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${prefix}.%p`, process.execPath, '--predictable', `--random-seed=${seed}`, serverScript, variant],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const first = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}:\n${stderr}`)));
  });
  const url = `http://127.0.0.1:${first.port}/hello`;
  try {
    await load(url, warmup);
    execFileSync('callgrind_control', ['--instr=on', String(child.pid)], { stdio: 'ignore' });
    await load(url, requests);
    execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
    if (receiver) await flushServer(child, variant);
  } finally {
    // Also when the load failed: a server left under callgrind would load the machine for nothing.
    await stop(child);
    await receiver?.close();
  }
  const received = receiver?.received();
  const base = prefix.split('/').pop();
  let total = 0;
  for (const file of readdirSync(outDir).filter((f) => f.startsWith(base))) {
    const match = /^(?:totals|summary): (\d+)/m.exec(readFileSync(join(outDir, file), 'utf8'));
    if (match) total += Number(match[1]);
    rmSync(join(outDir, file));
  }
  if (total === 0) throw new Error(`${variant}: callgrind wrote no totals`);
  return { perRequest: total / requests, received };
}

async function load(url, amount) {
  // 60 s by default, not autocannon's 10: under valgrind on a busy machine a cold server's first
  // answers (Fastify compiles its serializers then) can take longer, and a timeout would end the run.
  const result = await autocannon({ url, connections, amount, timeout });
  if (result.non2xx > 0) throw new Error(`${url}: ${result.non2xx} non-2xx`);
  // A loaded machine can still time a few requests out under callgrind: said, and tolerated up to 1%.
  if (result.errors > 0) process.stderr.write(`${url}: ${result.errors} errors (${result.timeouts} timeouts) in ${amount} requests\n`);
  if (result.errors > amount / 100) throw new Error(`${url}: ${result.errors} errors in ${amount} requests`);
}

/** Runs the tasks `jobs` at a time: counts do not depend on load, so the cores can be shared. */
async function runAll(tasks) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: jobs }, worker));
  return results;
}

async function group(title, variants) {
  const chosen = (n) => (pick === 'all' ? true : pick ? pick.split(',').some((p) => n.includes(p)) : issueRows.has(n));
  const names = Object.keys(variants).filter((n, i) => i === 0 || chosen(n));
  const tasks = names.flatMap((name) => Array.from({ length: seeds }, (_, seed) => async () => {
    const { perRequest, received } = await measure(name, seed + 1);
    process.stderr.write(`${name} seed ${seed + 1}: ${Math.round(perRequest)} instructions/request${received === undefined ? '' : `, ${received} received`}\n`);
    return { name, perRequest, received };
  }));
  const results = await runAll(tasks);
  const byName = (name) => results.filter((r) => r.name === name).map((r) => r.perRequest);
  const receivedBy = (name) => results.filter((r) => r.name === name && r.received !== undefined).map((r) => r.received);
  const bare = median(byName(names[0]));
  const rows = names.map((name) => {
    const counts = byName(name);
    const mid = median(counts);
    return {
      variant: name,
      'instructions/request (median)': Math.round(mid),
      'min..max': `${Math.round(Math.min(...counts))}..${Math.round(Math.max(...counts))}`,
      'added by the variant': Math.round(mid - bare),
      'ratio (bare/variant)': (bare / mid).toFixed(3),
      // Per seed; warm-up included: what each server was sent.
      [`received of ${warmup + requests}`]: receivedBy(name).join(', ') || '-',
    };
  });
  printTable(`${title}: callgrind, ${requests} requests after ${warmup} warm-up, ${connections} connections, median of ${seeds} seeds`, rows);
}

try {
  if (runs('express')) await group('Express 5', expressVariants);
  if (runs('nest')) await group('Nest 12 (Express adapter)', nestVariants);
  if (runs('fastify')) await group('Fastify 5', fastifyVariants);
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
