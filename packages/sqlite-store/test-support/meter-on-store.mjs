// A Meter on a SQLite store (the built packages), driven line by line from stdin, for the
// full-disk test. Usage: PACSPACE_BASE_URL=... PACSPACE_API_KEY=... node meter-on-store.mjs PATH
// Prints {"ready": true, "resumed": n} (deltas found in the file), or {"ready": false, "error"}.
// Commands, one per line, each answered with one JSON line:
//   enqueue N TAG  -> {"accepted": [...referenceIds], "refused": {"store_failed": k, ...}, "stats": {...}}
//   flush          -> {"flush": report, "stats": {...}}
import { createMeter } from '@pacspace-metering/core';
import { createInterface } from 'node:readline';
import { createSqliteStore } from '../dist/esm/index.js';

const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
let store;
try {
  store = createSqliteStore({ path: process.argv[2], onError: () => undefined });
} catch (err) {
  print({ ready: false, error: `${err.code}: ${err.message}` });
  process.exit(0);
}
const resumed = store.count();
const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, baseUrl: process.env.PACSPACE_BASE_URL, scope: 'full-disk', store, retryBaseDelayMs: 10, retryMaxDelayMs: 100 });
print({ ready: true, resumed });

for await (const line of createInterface({ input: process.stdin })) {
  const [command, count, tag] = line.split(' ');
  if (command === 'enqueue') {
    const accepted = [];
    const refused = {};
    for (let i = 0; i < Number(count); i++) {
      const result = meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: `${tag}-${i}`, metadata: { tag, i } });
      if (result.accepted) accepted.push(result.referenceId);
      else refused[result.reason] = (refused[result.reason] ?? 0) + 1;
    }
    print({ accepted, refused, stats: meter.stats() });
  } else if (command === 'flush') {
    print({ flush: await meter.flush({ timeoutMs: 30_000 }), stats: meter.stats() });
  }
}
