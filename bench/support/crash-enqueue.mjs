// What a crash loses, for bench/postgres-store.mjs: enqueues `bursts` bursts of 100 deltas (one
// burst per event-loop turn, as a busy server would), then SIGKILLs itself. MODE:
//   postgres        the Postgres store, killed right after the last enqueue (nothing awaited)
//   postgres-await  the Postgres store, killed once the last burst's `committed` resolved
//                   (what the framework packages wait for before the answer leaves)
//   sqlite          the SQLite store, commit per add (the default)
//   sqlite-group    the SQLite store with commitWindowMs 5
// Each with `-full` appended: PacSpace down and a queue (memory window) of 100, so 1,900 of the 2,000
// deltas are beyond it: what a long outage leaves. Before issue 20 those were summed in memory.
// Prints nothing; the bench counts the rows left in the outbox.
import { createMeter } from '@pacspace-metering/core';
import { createPostgresStore } from '@pacspace-metering/postgres-store';
import { createSqliteStore } from '@pacspace-metering/sqlite-store';

const [variant, target, bursts] = process.argv.slice(2);
const full = variant.endsWith('-full');
const mode = full ? variant.slice(0, -'-full'.length) : variant;
const store = mode.startsWith('postgres') ? await createPostgresStore({ connectionString: target }) : createSqliteStore({ path: target, ...(mode === 'sqlite-group' ? { commitWindowMs: 5 } : {}) });
// Nothing is delivered: an unreachable PacSpace keeps every accepted delta in the outbox.
const meter = createMeter({ apiKey: 'psk_bench_unused', baseUrl: 'http://127.0.0.1:9', store, maxQueueSize: full ? 100 : 1_000_000, maxQueueBytes: 1024 ** 3, logger: { debug() {}, info() {}, warn() {}, error() {} } });
let last;
for (let b = 0; b < Number(bursts); b++) {
  for (let i = 0; i < 100; i++) last = meter.enqueue({ customerId: `c${i % 10}`, delta: -1, reason: 'bench', requestId: `${process.pid}-${b}-${i}` });
  if (b < Number(bursts) - 1) await new Promise((resolve) => setImmediate(resolve));
}
if (mode === 'postgres-await') await last.committed;
process.kill(process.pid, 'SIGKILL');
