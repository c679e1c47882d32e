// One instance of a fleet for bench/postgres-store.mjs: a Meter on the shared Postgres outbox,
// delivering to the bench's sandbox. Prints {"ready": true}, starts delivering on a line on stdin,
// and closes on SIGTERM, printing {"closed": true}.
import { createMeter } from '@pacspace-metering/core';
import { createPostgresStore } from '@pacspace-metering/postgres-store';
import { createInterface } from 'node:readline';

const [url, baseUrl, apiKey] = process.argv.slice(2);
const store = await createPostgresStore({ connectionString: url, pollIntervalMs: 20 });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
let meter;
createInterface({ input: process.stdin }).once('line', () => {
  // The same account as the Meter that filled the outbox: rows belong to the Meter that accepted them.
  meter = createMeter({ apiKey, baseUrl, store, concurrency: 8, account: 'bench' });
});
process.on('SIGTERM', async () => {
  await meter?.close({ timeoutMs: 10_000 });
  process.stdout.write(`${JSON.stringify({ closed: true })}\n`);
  process.exit(0);
});
