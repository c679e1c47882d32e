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
  const cpuMicros = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuPerRequest: cpuMicros / result.requests.total, rssMb: after.memory.rss / 2 ** 20 };
}

async function group(title, variants) {
  const names = Object.keys(variants);
  const children = {};
  for (const name of names) children[name] = await startChild(serverScript, [name], { cpu: pinned ? 0 : undefined, env });
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round so no variant always runs first or last.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) samples[name].push(await measure(children[name].first.port, children[name].child));
    process.stderr.write(`${title}: round ${round + 1}/${rounds} done\n`);
  }
  for (const name of names) await stop(children[name].child);
  const bare = samples[names[0]];
  const rows = names.map((name) => {
    const s = samples[name];
    const ratios = s.map((sample, i) => sample.rps / bare[i].rps);
    return {
      variant: name,
      'req/s (median)': Math.round(median(s.map((x) => x.rps))),
      [`ratio to ${names[0]} (median)`]: median(ratios).toFixed(3),
      'ratio min..max': `${Math.min(...ratios).toFixed(3)}..${Math.max(...ratios).toFixed(3)}`,
      'p50 ms': median(s.map((x) => x.p50)),
      'p99 ms': median(s.map((x) => x.p99)),
      'CPU µs/req': median(s.map((x) => x.cpuPerRequest)).toFixed(1),
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
