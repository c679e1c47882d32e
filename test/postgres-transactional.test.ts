// Transactional enqueue (issue #15): an orders API writes each order and its delta in one
// transaction on the Postgres outbox. Committed orders are billed exactly once, rolled-back ones
// never, a retried order (same id: the order insert conflicts) is not billed twice, and an order
// whose process is SIGKILLed right after COMMIT, before it answers, is billed by another instance.
import { buildReferenceId } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { join } from 'node:path';
import pg from 'pg';
import { startChild, waitFor, type Child } from '../packages/postgres-store/test-support/helpers.js';
import { startTestDatabase, type TestDatabase } from '../packages/postgres-store/test-support/pg-cluster.js';

const APP = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'fixtures', 'pg-orders-app.mjs');

describe('transactional enqueue: the order and its delta, or neither', () => {
  let db: TestDatabase;
  let sandbox: Sandbox;
  const children: Child[] = [];

  beforeAll(async () => {
    db = await startTestDatabase('transactional');
    sandbox = await startSandbox({ seed: 15, faults: { serverError: { rate: 0.1, statuses: [503] }, commitThenDrop: { rate: 0.1 } } });
  }, 120_000);
  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await sandbox.close();
    await db.stop();
  });

  function start(env: Record<string, string> = {}): Child {
    const app = startChild(APP, [], { DATABASE_URL: db.url, PACSPACE_BASE_URL: sandbox.url, PACSPACE_API_KEY: sandbox.apiKey, ...env });
    children.push(app);
    return app;
  }

  async function order(port: number, id: string, customer: string, headers: Record<string, string> = {}): Promise<number | 'cut-off'> {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/orders/${id}`, { method: 'POST', headers: { 'x-customer': customer, ...headers } });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 'cut-off';
    }
  }

  it('bills committed orders once, rolled-back and repeated ones never, and one killed right after COMMIT', async () => {
    const main = start();
    const { listening: port } = await main.nextLine();
    const statuses: Record<string, number | 'cut-off'> = {};
    for (let i = 0; i < 30; i++) statuses[`o${i}`] = await order(port, `o${i}`, `cust_${i % 3}`);
    for (let i = 30; i < 40; i++) statuses[`o${i}`] = await order(port, `o${i}`, `cust_${i % 3}`, { 'x-rollback': '1' });
    // The same order again (a client retry): the order insert conflicts, so its delta rolls back with it.
    for (let i = 0; i < 5; i++) statuses[`again-o${i}`] = await order(port, `o${i}`, `cust_${i % 3}`);

    // A second instance commits an order and is killed before it answers.
    const doomed = start({ KILL_AFTER_COMMIT: '1' });
    const { listening: doomedPort } = await doomed.nextLine();
    statuses.o99 = await order(doomedPort, 'o99', 'cust_9');
    expect(await doomed.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const orders = (await client.query('SELECT id FROM orders ORDER BY id')).rows.map((r) => r.id);
      expect(orders.sort()).toEqual([...Array.from({ length: 30 }, (_, i) => `o${i}`), 'o99'].sort());

      // The surviving instance polls the outbox and delivers the killed one's committed delta too.
      main.child.kill('SIGTERM');
      expect(await main.nextLine()).toEqual({ closed: true, pending: 0 });
      await main.exited;
      const rowsLeft = async () => (await client.query('SELECT count(*)::int AS n FROM pacspace_metering.outbox')).rows[0].n as number;
      if ((await rowsLeft()) > 0) {
        // The o99 row may have been committed after the survivor's last poll, or leased by the
        // killed instance itself in its last moment (its lease then runs out after 2 s): a fresh
        // instance takes it.
        const next = start();
        await next.nextLine();
        await waitFor('an empty outbox', async () => (await rowsLeft()) === 0, 30_000);
        next.child.kill('SIGTERM');
        expect(await next.nextLine()).toMatchObject({ closed: true });
      }
      expect(await rowsLeft()).toBe(0);
    } finally {
      await client.end();
    }

    expect(Object.entries(statuses).filter(([k]) => /^o([0-9]|[12][0-9])$/.test(k)).every(([, s]) => s === 201)).toBe(true);
    expect(Object.entries(statuses).filter(([k]) => /^o3[0-9]$/.test(k)).every(([, s]) => s === 500)).toBe(true);
    expect(Object.entries(statuses).filter(([k]) => k.startsWith('again-')).every(([, s]) => s === 409)).toBe(true);
    expect(statuses.o99).toBe('cut-off');

    const ledger = sandbox.ledger();
    const expected = [...Array.from({ length: 30 }, (_, i) => [`o${i}`, `cust_${i % 3}`]), ['o99', 'cust_9']].map(([id, customerId]) =>
      buildReferenceId({ scope: 'orders', operation: 'order_placed', customerId: customerId!, requestId: id! }),
    );
    expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual(expected.sort());
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.counts.conflicts).toBe(0);
  });
});
