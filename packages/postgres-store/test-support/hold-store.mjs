// Holds a Postgres store in a process of its own, for tests of what a dead instance leaves behind.
// Run: node hold-store.mjs <url> <count> <leaseMs>. Adds <count> deltas (leased by this process),
// waits until they are committed, prints {"owner": ..., "referenceIds": [...]} and then waits,
// renewing its leases, until it is killed.
import { createPostgresStore } from '@pacspace-metering/postgres-store';

const [url, count, leaseMs] = process.argv.slice(2);
const store = await createPostgresStore({ connectionString: url, leaseMs: Number(leaseMs) });
const referenceIds = [];
const written = [];
for (let i = 0; i < Number(count); i++) {
  const referenceId = `held:api_request:cust_${i % 3}:req-${process.pid}-${i}`;
  const body = JSON.stringify({ customerId: `cust_${i % 3}`, delta: -1, reason: 'api_request', referenceId });
  referenceIds.push(referenceId);
  written.push(store.add({ seq: i + 1, referenceId, customerId: `cust_${i % 3}`, fields: {}, body, bytes: Buffer.byteLength(body), acceptedAt: Date.now(), attempts: 0, dueAt: 0 }));
}
await Promise.all(written);
process.stdout.write(`${JSON.stringify({ owner: store.owner, referenceIds })}\n`);
setInterval(() => undefined, 1_000);
