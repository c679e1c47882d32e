// What a balance gate's fleetPending costs with the Postgres outbox: one
// store.undeliveredByOthers(customerId) per customer per balance refresh. Measures that query's
// latency (median and p99 over --reads calls) with outboxes of growing size (the outbox holds only
// undelivered rows: small normally, large after an outage), spread over --customers customers,
// all leased by another instance.
//
// `--index` first creates an index on outbox (customer_id), which the store's schema does not have.
//
// Run: pnpm build && node bench/gate-fleet-query.mjs [--sizes 1000,10000,100000] [--customers 100] [--reads 200] [--index] [--pg URL]
import { createPostgresStore } from '@pacspace-metering/postgres-store';
import pg from 'pg';
import { freshDatabase, startCluster } from '../examples/demo/lib/pg-cluster.mjs';
import { arg, median, printTable } from './support/report.mjs';

const sizes = String(arg('sizes', '1000,10000,100000')).split(',').map(Number);
const customers = Number(arg('customers', 100));
const reads = Number(arg('reads', 200));
const index = process.argv.includes('--index');
const given = arg('pg', process.env.PACSPACE_TEST_PG_URL);
const cluster = given ? undefined : await startCluster();
process.on('exit', () => cluster?.stop());
const adminUrl = given ?? cluster.url;

const rows = [];
for (const size of sizes) {
  const url = await freshDatabase(adminUrl);
  const store = await createPostgresStore({ connectionString: url });
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  // Rows as another instance leaves them: frozen bodies, leased by someone else.
  await pool.query(
    `INSERT INTO pacspace_metering.outbox (reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, lease_owner, lease_until)
     SELECT 'bench:api_request:c' || (i % $2) || ':' || i, 'c' || (i % $2),
            '{"customerId":"c' || (i % $2) || '","delta":-1,"reason":"api_request","referenceId":"bench:api_request:c' || (i % $2) || ':' || i || '"}',
            120, 0, 0, 'other-instance', clock_timestamp() + interval '1 hour'
     FROM generate_series(1, $1) AS i`,
    [size, customers],
  );
  if (index) await pool.query('CREATE INDEX outbox_customer ON pacspace_metering.outbox (customer_id)');
  await pool.query('ANALYZE pacspace_metering.outbox');
  const times = [];
  for (let i = 0; i < reads; i++) {
    const started = process.hrtime.bigint();
    const total = await store.undeliveredByOthers(`c${i % customers}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (total !== -size / customers) throw new Error(`c${i % customers}: ${total}, expected ${-size / customers}`);
  }
  times.sort((a, b) => a - b);
  rows.push({
    'outbox rows': size,
    'rows per customer': size / customers,
    'ms per query (median)': median(times).toFixed(2),
    'p99 ms': times[Math.floor(times.length * 0.99)].toFixed(2),
  });
  await pool.end();
  await store.close();
}
printTable(`undeliveredByOthers: ${reads} queries per size, ${customers} customers${index ? ', with an index on customer_id' : ''}`, rows);
