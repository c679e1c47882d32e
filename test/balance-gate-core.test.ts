// Issue 22: createBalanceGate() over a real Meter and the sandbox, without a framework: one balance
// read for 1,000 concurrent checks, what the Meter reports as not yet counted (queued, folded, given
// up), the LRU, bad input, a dry-run Meter, and SDK-shaped clients.
import { createBalanceGate, createMeter, createPacSpaceClient, DeltaValidationError, lastTwelveMonths, MemoryStore, MeteringConfigError, silentLogger, type BalanceClient, type DeliveredUsage } from '@pacspace-metering/core';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { deriveReads } from './support/gated-app.js';
import { queuedDelta } from './support/queued-delta.js';
import { waitFor } from './support/wait.js';

describe('createBalanceGate over a Meter and the sandbox', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  const meterOptions = () => ({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, flushIntervalMs: 5, retryBaseDelayMs: 5, retryMaxDelayMs: 20, logger: silentLogger });

  it('1,000 concurrent checks of one customer cause one balance read', async () => {
    sandbox.topUp('many', 100);
    const meter = createMeter(meterOptions());
    const gate = createBalanceGate(meter, { logger: silentLogger });
    const checks = await Promise.all(Array.from({ length: 1000 }, () => gate.check('many', 1)));
    expect(checks.filter((c) => c.allowed)).toHaveLength(100);
    expect(deriveReads(sandbox, 'many')).toBe(1);
    expect(gate.stats()).toMatchObject({ checks: 1000, waited: 1000, deriveCalls: 1, running: 100 });
    for (const check of checks) check.release();
    expect(gate.stats().running).toBe(0);
    gate.close();
    await meter.close();
  });

  it("the Meter's balance source counts queued, folded and retrying deltas, and settles them on delivery or give-up", async () => {
    const meter = createMeter({ ...meterOptions(), maxQueueSize: 2, flushIntervalMs: 60_000 });
    const source = meter.balanceSource!();
    const delivered: DeliveredUsage[] = [];
    source.onDelivered((usage) => delivered.push(usage));
    for (let i = 0; i < 5; i++) meter.enqueue({ customerId: 'src', delta: -1, reason: 'api_request' });
    expect(meter.stats().folded).toBe(3); // the queue holds 2; three more are folded into one sum
    expect(source.unsettled('src')).toBe(-5);
    await meter.flush({ timeoutMs: 10_000 });
    expect(source.unsettled('src')).toBe(0);
    expect(delivered.map((d) => d.delta).sort((a, b) => a - b)).toEqual([-3, -1, -1]);
    expect(delivered.every((d) => /^rec_\d+$/.test(d.recordId!))).toBe(true);

    sandbox.setFaults({ batchRejection: { customerIds: ['refused'], status: 422 } });
    meter.enqueue({ customerId: 'refused', delta: -1, reason: 'api_request' });
    expect(source.unsettled('refused')).toBe(-1);
    await meter.flush({ timeoutMs: 10_000 });
    sandbox.setFaults({});
    expect(meter.stats().dropped.rejected).toBe(1);
    expect(source.unsettled('refused')).toBe(0); // never billed: not counted
    expect(delivered).toHaveLength(3);
    await meter.close();
  });

  it("counts the deltas a (durable) store already held when tracking started, and delivers them as its own", async () => {
    const store = new MemoryStore();
    store.add(queuedDelta('resumed', { seq: 1, referenceId: 'earlier-run:api_request:resumed:1', metadata: {}, acceptedAt: Date.now() }));
    const meter = createMeter({ ...meterOptions(), store });
    const source = meter.balanceSource!();
    expect(source.unsettled('resumed')).toBe(-1);
    const delivered: DeliveredUsage[] = [];
    source.onDelivered((usage) => delivered.push(usage));
    await meter.flush({ timeoutMs: 10_000 });
    expect(source.unsettled('resumed')).toBe(0);
    expect(delivered.map((d) => [d.referenceId, d.delta])).toEqual([['earlier-run:api_request:resumed:1', -1]]);
    await meter.close();
  });

  it('keeps at most maxCustomers balances, never forgetting one with a call running', async () => {
    const meter = createMeter(meterOptions());
    const gate = createBalanceGate(meter, { maxCustomers: 2, logger: silentLogger });
    for (const customer of ['lru-a', 'lru-b', 'lru-c']) sandbox.topUp(customer, 5);
    const running = await gate.check('lru-a', 1);
    (await gate.check('lru-b', 1)).release();
    (await gate.check('lru-c', 1)).release(); // forgets lru-b (lru-a has a call running)
    expect(gate.stats()).toMatchObject({ customers: 2, evicted: 1 });
    (await gate.check('lru-a', 1)).release(); // still cached: no read
    expect(deriveReads(sandbox, 'lru-a')).toBe(1);
    (await gate.check('lru-b', 1)).release(); // read again
    expect(deriveReads(sandbox, 'lru-b')).toBe(2);
    running.release();
    gate.close();
    await meter.close();
  });

  it('refuses to check what cannot be checked, naming the field; a dry-run Meter lets everything through; price 0 reads nothing', async () => {
    const meter = createMeter(meterOptions());
    const gate = createBalanceGate(meter, { logger: silentLogger });
    expect(() => gate.check('a b', 1)).toThrow(DeltaValidationError);
    expect(() => gate.check('acme', -1)).toThrow(/^price/);
    expect(() => gate.check('acme', Number.NaN)).toThrow(/^price/);
    expect(gate.stats().invalid).toBe(3);
    const free = await gate.check('free-call', 0);
    expect(free).toMatchObject({ allowed: true, reason: 'covered' });
    expect(deriveReads(sandbox, 'free-call')).toBe(0);
    await meter.close();

    const dry = createMeter({ enabled: false, logger: silentLogger });
    const dryGate = createBalanceGate(dry, { logger: silentLogger });
    expect(await dryGate.check('anyone', 1000)).toMatchObject({ allowed: true, reason: 'dry_run' });
    await dry.close();
  });

  it('works with an SDK-shaped client that has derive and deltaStatus, and refuses one without derive', async () => {
    const builtIn = createPacSpaceClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
    // The official SDK's method names (research §5): balance.derive and balance.deltaStatus.
    const sdk: BalanceClient & { balance: { deltaStatus(recordId: string): Promise<unknown> } } = {
      balance: {
        emit: (...args) => builtIn.balance.emit(...args),
        emitBatch: (...args) => builtIn.balance.emitBatch(...args),
        derive: (customerId, options) => builtIn.balance.derive(customerId, options),
        deltaStatus: (recordId) => builtIn.balance.getDelta(recordId),
      },
    };
    sandbox.topUp('sdk', 2);
    const meter = createMeter({ client: sdk, flushIntervalMs: 5, logger: silentLogger });
    const gate = createBalanceGate(meter, { ttlMs: 1, logger: silentLogger });
    const first = await gate.check('sdk', 1);
    expect(first).toMatchObject({ allowed: true, balance: 2 });
    meter.enqueue({ customerId: 'sdk', delta: -1, reason: 'api_request' });
    first.release();
    await meter.flush({ timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 5)); // past the 1 ms TTL
    (await gate.check('sdk', 1)).release(); // stale: refreshes, reading the delivered delta's status first
    await waitFor(() => gate.stats().readsInFlight === 0, 'the refresh');
    expect(gate.stats()).toMatchObject({ statusReads: 1, deriveCalls: 2, heldDeliveries: 0 });
    expect((await gate.check('sdk', 1)).balance).toBe(1);
    builtIn.close();
    await meter.close();

    const noDerive = createMeter({ client: { balance: { emit: async () => ({}) } }, logger: silentLogger });
    expect(() => createBalanceGate(noDerive)).toThrow(MeteringConfigError);
    await noDerive.close();
  });

  it('the default derive scope is one the sandbox (PacSpace scope cap: 12 months) accepts, at any time of the year', async () => {
    const builtIn = createPacSpaceClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
    for (let month = 0; month < 12; month++) {
      await expect(builtIn.balance.derive('scope', lastTwelveMonths(Date.UTC(2025, month, 15)))).resolves.toMatchObject({ computedBalance: 0 });
    }
    builtIn.close();
  });
});
