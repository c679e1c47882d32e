// How many balance reads a gated app sends under load: an Express app with requireBalance() and
// meterRequests() (a balance gate over a Meter delivering to the sandbox in another process),
// driven by autocannon at --rate requests per second for --seconds, spread over --customers
// customers. Reports the rate reached and the derive calls per customer the sandbox saw, against
// the bound: one per customer per ttlMs (plus the first).
//
// Run: pnpm build && node bench/gate-derive-rate.mjs [--rate 2000] [--seconds 15] [--customers 5] [--ttl 5000]
import autocannon from 'autocannon';
import express from 'express';
import { createBalanceGate, createMeter } from '@pacspace-metering/core';
import { meterRequests, requireBalance } from '@pacspace-metering/express';
import { fileURLToPath } from 'node:url';
import { startChild, stop } from './support/processes.mjs';
import { arg, printTable } from './support/report.mjs';

const rate = Number(arg('rate', 2000));
const seconds = Number(arg('seconds', 15));
const customers = Number(arg('customers', 5));
const ttlMs = Number(arg('ttl', 5000));

const sandbox = await startChild(fileURLToPath(new URL('./servers/sandbox.mjs', import.meta.url)), []);
const { url: sandboxUrl, apiKey } = sandbox.first;
const names = Array.from({ length: customers }, (_, i) => `rate-${i}`);
for (const customerId of names) {
  const res = await fetch(`${sandboxUrl}/_sandbox/top-up`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, body: JSON.stringify({ customerId, amount: 1e9 }) });
  if (!res.ok) throw new Error(`top-up: ${res.status}`);
}

const meter = createMeter({ apiKey, baseUrl: sandboxUrl, scope: 'gate-rate' });
const gate = createBalanceGate(meter, { ttlMs });
const customerId = (req) => req.headers['x-customer'];
const app = express();
app.get('/work', requireBalance(gate, { customerId, price: 1 }), meterRequests(meter, { customerId }), (_req, res) => res.send('ok'));
const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});

const result = await autocannon({
  url: `http://127.0.0.1:${server.address().port}/work`,
  connections: 32,
  overallRate: rate,
  duration: seconds,
  requests: names.map((name) => ({ headers: { 'x-customer': name } })),
});
server.close();
await meter.close({ timeoutMs: 30_000 });

const ledger = await (await fetch(`${sandboxUrl}/_sandbox/ledger`, { headers: { 'x-api-key': apiKey } })).json();
const derives = (name) => ledger.data.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/balance/derive/${name}`).length;
const statuses = (name) => ledger.data.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/balance/delta/')).length / customers;
const bound = Math.ceil((seconds * 1000) / ttlMs) + 1;
printTable(`Balance reads under load: ${result.requests.average.toFixed(0)} requests/s reached (asked ${rate}), ${seconds} s, ${customers} customers, ttlMs ${ttlMs}`, names.map((name) => ({
  customer: name,
  'derive calls': derives(name),
  'bound (one per ttlMs + the first)': bound,
  'status reads (average per customer)': statuses(name).toFixed(1),
})));
console.log(`non-2xx: ${result.non2xx}, errors: ${result.errors}, gate: ${JSON.stringify(gate.stats())}`);
await stop(sandbox.child);
