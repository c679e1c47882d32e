// Opens a store (the built package) like an app would, adds deltas, leases some as if they were
// being sent, prints what it did as one JSON line and waits until it is killed.
// Usage: node hold-store.mjs PATH ADD LEASE [EXIT_AFTER_MS]
// With EXIT_AFTER_MS it exits on its own after that long, without closing the store.
import { createSqliteStore } from '../dist/esm/index.js';

const [path, add, lease, exitAfterMs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 0)];
const store = createSqliteStore({ path });
const added = [];
for (let i = 0; i < add; i++) {
  const referenceId = `held:api_request:cust-${i % 3}:${process.pid}-${i}`;
  const body = JSON.stringify({ customerId: `cust-${i % 3}`, delta: -1, reason: 'api_request', referenceId, metadata: { i } });
  store.add({ seq: i + 1, referenceId, customerId: `cust-${i % 3}`, fields: {}, body, bytes: Buffer.byteLength(body), acceptedAt: Date.now(), attempts: 0, dueAt: 0 });
  added.push({ referenceId, body });
}
const leased = [];
for (let i = 0; i < lease; i++) {
  const item = store.leaseBatch(Date.now(), 1, Infinity, () => 0)[0];
  item.attempts++;
  leased.push(item.referenceId);
}
process.stdout.write(`${JSON.stringify({ pid: process.pid, added, leased })}\n`);
if (exitAfterMs > 0) setTimeout(() => process.exit(0), exitAfterMs);
else setInterval(() => undefined, 60_000);
