// Request-path overhead: autocannon against a hello-world, every variant side by side in one run,
// interleaved (A B C ... A B C ...) over several rounds, reported as ratios to the bare app of the
// same round. The server under test is pinned to CPU 0, autocannon (and the sandbox) to CPU 1.
// Run: pnpm build && node bench/request-overhead.mjs [--rounds 5] [--seconds 5] [--connections 32] [--only express|nest]
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { expressVariants } from './servers/express-variants.mjs';
import { nestVariants } from './servers/nest-variants.mjs';
import { ask, pinSelf, startChild, stop } from './support/processes.mjs';
import { arg, median, printTable } from './support/report.mjs';

const rounds = Number(arg('rounds', 5));
const seconds = Number(arg('seconds', 5));
const connections = Number(arg('connections', 32));
const only = arg('only', 'all');
const pick = arg('variants', '');
const serverScript = fileURLToPath(new URL('./servers/server.mjs', import.meta.url));
const sandboxScript = fileURLToPath(new URL('./servers/sandbox.mjs', import.meta.url));

const pinned = pinSelf(1);
const { child: sandboxProcess, first: sandbox } = await startChild(sandboxScript, [], { cpu: pinned ? 1 : undefined });
const env = { SANDBOX_URL: sandbox.url, SANDBOX_KEY: sandbox.apiKey };

async function measure(port, child) {
  const url = `http://127.0.0.1:${port}/hello`;
  await autocannon({ url, connections, duration: 1 }); // warm-up: JIT, keep-alive sockets
  const before = await ask(child, 'cpu');
  const result = await autocannon({ url, connections, duration: seconds });
  const after = await ask(child, 'cpu');
  const userMicros = after.cpu.user - before.cpu.user;
  const cpuMicros = userMicros + after.cpu.system - before.cpu.system;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuPerRequest: cpuMicros / result.requests.total, userShare: userMicros / cpuMicros, rssMb: after.memory.rss / 2 ** 20 };
}

async function group(title, variants) {
  // --variants 'a,b' keeps the bare app (first) plus the named ones, for quick A/B runs.
  const names = Object.keys(variants).filter((n, i) => i === 0 || !pick || pick.split(',').some((p) => n.includes(p)));
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no variant always runs first or last, and start a fresh
    // process per measurement: one process's JIT and memory layout can be 10% off another's.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const { child, first } = await startChild(serverScript, [name], { cpu: pinned ? 0 : undefined, env });
      samples[name].push(await measure(first.port, child));
      await stop(child);
    }
    process.stderr.write(`${title}: round ${round + 1}/${rounds} done\n`);
  }
  const bare = samples[names[0]];
  const bareCpu = median(bare.map((x) => x.cpuPerRequest));
  const rows = names.map((name) => {
    const s = samples[name];
    const ratios = s.map((sample, i) => sample.rps / bare[i].rps);
    const cpu = median(s.map((x) => x.cpuPerRequest));
    return {
      variant: name,
      'req/s (median)': Math.round(median(s.map((x) => x.rps))),
      'req/s ratio (median of rounds)': median(ratios).toFixed(3),
      'min..max': `${Math.min(...ratios).toFixed(3)}..${Math.max(...ratios).toFixed(3)}`,
      'CPU µs/req (median)': cpu.toFixed(1),
      // The server is CPU-bound on its core, so bare CPU per request over the variant's is the
      // throughput it can keep; far steadier than req/s on a machine with noisy neighbours.
      'CPU ratio (bare/variant)': (bareCpu / cpu).toFixed(3),
      // What bench/request-instructions.mjs counts: the rest is the kernel's socket work.
      'user share of CPU': median(s.map((x) => x.userShare)).toFixed(2),
      'p50 ms': median(s.map((x) => x.p50)),
      'p99 ms': median(s.map((x) => x.p99)),
      'RSS MB (end)': Math.round(s[s.length - 1].rssMb),
    };
  });
  printTable(`${title}: ${rounds} rounds × ${seconds} s, ${connections} connections${pinned ? ', server on CPU 0, load on CPU 1' : ''}`, rows);
}

if (only !== 'nest') await group('Express 5', expressVariants);
if (only !== 'express') await group('Nest 12 (Express adapter)', nestVariants);
const { committed } = await ask(sandboxProcess, 'ledger');
console.log(`\nsandbox committed ${committed} deltas from the delivering variants`);
await stop(sandboxProcess);
