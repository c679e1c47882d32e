// Where the instructions of one request go: one variant's server runs under callgrind (as in
// request-instructions.mjs) with `--perf-basic-prof`, so that the addresses callgrind reports for
// JIT-compiled JavaScript can be named from V8's perf map. Prints the functions with the most
// self instructions per request, JavaScript and native alike.
// Run: pnpm build && node bench/instruction-profile.mjs '<variant name>' [--requests 3000] [--warmup 5000] [--top 40] [--inclusive]
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, stop } from './support/processes.mjs';
import { arg } from './support/report.mjs';

const variant = process.argv[2];
const requests = Number(arg('requests', 3000));
const warmup = Number(arg('warmup', 5000));
const top = Number(arg('top', 40));
// --inclusive: each function's cost with what it calls (callgrind's call graph), not its own alone.
const inclusive = process.argv.includes('--inclusive');
if (!variant || variant.startsWith('--')) {
  console.error("usage: node bench/instruction-profile.mjs '<variant>' [--requests N]");
  process.exit(2);
}
const serverScript = fileURLToPath(new URL('./servers/server.mjs', import.meta.url));
const sandbox = variant.includes('sandbox') ? await startChild(fileURLToPath(new URL('./servers/sandbox.mjs', import.meta.url)), []) : undefined;
const env = sandbox ? { SANDBOX_URL: sandbox.first.url, SANDBOX_KEY: sandbox.first.apiKey } : {};
const outDir = mkdtempSync(join(tmpdir(), 'instruction-profile-'));
const load = async (url, amount) => void (await autocannon({ url, connections: 8, amount }));

try {
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outDir}/cg.%p`, process.execPath, '--predictable', '--random-seed=1', '--perf-basic-prof', serverScript, variant], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, ...env },
  });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const url = `http://127.0.0.1:${port}/hello`;
  await load(url, warmup);
  execFileSync('callgrind_control', ['--instr=on', String(child.pid)], { stdio: 'ignore' });
  await load(url, requests);
  execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
  const map = `/tmp/perf-${child.pid}.map`;
  const symbols = existsSync(map) ? readFileSync(map, 'utf8').split('\n').filter(Boolean).map((line) => {
    const [start, size, ...name] = line.split(' ');
    return { start: parseInt(start, 16), end: parseInt(start, 16) + parseInt(size, 16), name: name.join(' ') };
  }).sort((a, b) => a.start - b.start) : [];
  await stop(child);
  const name = (raw) => {
    const m = /0x([0-9a-f]+)/.exec(raw);
    if (!m || !raw.startsWith('0x')) return raw;
    const address = parseInt(m[1], 16);
    let lo = 0, hi = symbols.length - 1, found;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (symbols[mid].start <= address) { found = symbols[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    return found && address < found.end ? found.name : raw;
  };
  const file = readdirSync(outDir).filter((f) => f.startsWith('cg.')).map((f) => join(outDir, f)).find((f) => readFileSync(f, 'utf8').includes('summary:') || readFileSync(f, 'utf8').includes('totals:'));
  const text = execFileSync('callgrind_annotate', ['--threshold=100', `--inclusive=${inclusive ? 'yes' : 'no'}`, file], { maxBuffer: 1 << 28 }).toString();
  const self = new Map();
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$/.exec(line);
    if (!m || !m[2].includes(':')) continue;
    const cost = Number(m[1].replaceAll(',', ''));
    const fn = m[2].split(':').slice(1).join(':').split(' [')[0];
    const key = name(fn.trim());
    self.set(key, (self.get(key) ?? 0) + cost);
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`\n${variant}: ${inclusive ? 'inclusive' : 'self'} instructions per request (callgrind, ${requests} requests after ${warmup} warm-up)\n`);
  for (const [fn, cost] of rows) console.log(`${String(Math.round(cost / requests)).padStart(8)}  ${fn}`);
} finally {
  if (sandbox) await stop(sandbox.child);
  rmSync(outDir, { recursive: true, force: true });
}
