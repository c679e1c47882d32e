// Issue 22, fleets: two instances on one Postgres outbox, PacSpace refusing every write (an outage:
// deltas wait in the outbox) while balance reads still answer. Without fleetPending each instance
// sees only its own usage and together they overspend; with the outbox's undelivered rows per
// customer (store.undeliveredByOthers, one query per refresh) the second instance sees the first's.
import { createBalanceGate, createMeter, silentLogger, type BalanceGate, type Meter } from '@pacspace-metering/core';
import { createPostgresStore, type PostgresStore } from '@pacspace-metering/postgres-store';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { startTestDatabase, type TestDatabase } from '../packages/postgres-store/test-support/pg-cluster.js';
import { testClock } from './support/gated-app.js';
import { waitFor } from './support/wait.js';

interface Instance {
  store: PostgresStore;
  meter: Meter;
  gate: BalanceGate;
}

describe('balance gate in a fleet on one Postgres outbox', () => {
  let db: TestDatabase;
  let sandbox: Sandbox;
  const instances: Instance[] = [];
  const clock = testClock();

  beforeAll(async () => {
    db = await startTestDatabase('gate_fleet');
    sandbox = await startSandbox();
  }, 120_000);
  afterAll(async () => {
    sandbox.setFaults({});
    for (const { meter, gate } of instances) {
      gate.close();
      await meter.close({ timeoutMs: 10_000 });
    }
    await sandbox.close();
    await db.stop();
  });

  async function instance(fleet: boolean): Promise<Instance> {
    const store = await createPostgresStore({ connectionString: db.url, pollIntervalMs: 50 });
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, store, flushIntervalMs: 5, retryBaseDelayMs: 50, retryMaxDelayMs: 200, logger: silentLogger });
    const gate = createBalanceGate(meter, { ttlMs: 1000, now: clock.now, logger: silentLogger, ...(fleet ? { fleetPending: (id: string) => store.undeliveredByOthers(id) } : {}) });
    const created = { store, meter, gate };
    instances.push(created);
    return created;
  }

  /** `n` calls on one instance: check, bill -1 when allowed, end; answers how many were served. */
  async function serve(at: Instance, customer: string, n: number): Promise<number> {
    let served = 0;
    for (let i = 0; i < n; i++) {
      const check = await at.gate.check(customer, 1);
      if (!check.allowed) continue;
      served++;
      const result = at.meter.enqueue({ customerId: customer, delta: -1, reason: 'api_request' });
      if (result.accepted && result.committed) await result.committed; // in the outbox, as at the end of a response
      check.release();
    }
    return served;
  }

  it('without fleetPending, two instances overspend during an outage; with it, the second sees the first', async () => {
    sandbox.topUp('fleet-off', 10);
    sandbox.topUp('fleet-on', 10);
    sandbox.setFaults({ serverError: { rate: 1, statuses: [503] } }); // writes fail; balance reads answer
    const [a, b] = [await instance(false), await instance(false)];
    expect(await serve(a, 'fleet-off', 6)).toBe(6);
    expect(await serve(b, 'fleet-off', 10)).toBe(10); // b cannot see a's 6: 16 served on a balance of 10

    const [c, d] = [await instance(true), await instance(true)];
    expect(await serve(c, 'fleet-on', 6)).toBe(6);
    expect(await d.store.undeliveredByOthers('fleet-on')).toBe(-6);
    expect(await c.store.undeliveredByOthers('fleet-on')).toBe(0); // its own rows are its Meter's to count
    expect(await serve(d, 'fleet-on', 10)).toBe(4);
    expect(d.gate.stats()).toMatchObject({ fleetReads: 1, fleetFailures: 0 });

    // PacSpace is back: everything is delivered once, and the ledger is never below the bound.
    sandbox.setFaults({});
    for (const { meter } of instances) await meter.flush({ timeoutMs: 20_000 });
    await waitFor(() => sandbox.ledger().deltas.filter((x) => x.customerId === 'fleet-on').length === 11, 'all fleet-on deltas delivered');
    const net = (customer: string) => sandbox.ledger().deltas.filter((x) => x.customerId === customer).reduce((sum, x) => sum + x.delta, 0);
    expect(net('fleet-off')).toBe(-6);
    expect(net('fleet-on')).toBe(0);
  });
});
