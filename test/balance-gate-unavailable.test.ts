// Issue 22, "Must show": PacSpace down or slow. The gate's whenUnavailable policy applies only
// when no balance young enough can be had; every such decision is counted (stats) and reported
// (the default reporter: stderr, each kind once a minute, then a count).
import { createDefaultReporter, PROBLEM_TYPES } from '@pacspace-metering/core';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { jest } from '@jest/globals';
import { gatedApp, type GatedApp } from './support/gated-app.js';
import { waitFor } from './support/wait.js';

const TTL = 1000;

describe('balance gate when PacSpace cannot be asked', () => {
  let sandbox: Sandbox;
  const apps: GatedApp[] = [];
  const lines: string[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterEach(() => {
    sandbox.setFaults({});
    lines.length = 0;
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await sandbox.close();
  });

  async function app(options: Parameters<typeof gatedApp>[1]): Promise<GatedApp> {
    const gated = await gatedApp(sandbox, { ttlMs: TTL, waitMs: 200, logger: createDefaultReporter((line) => lines.push(line)), ...options });
    apps.push(gated);
    return gated;
  }

  it("whenUnavailable 'serve' (the default): a customer with no cached balance is served, each decision counted, the kind reported once", async () => {
    sandbox.setFaults({ derive: { status: 503 } });
    const gated = await app({});
    const statuses = await Promise.all(Array.from({ length: 20 }, () => gated.call('cold-serve')));
    expect(statuses.map((s) => s.status)).toEqual(Array(20).fill(200));
    const stats = gated.gate.stats();
    expect(stats.unavailableServed).toBe(20);
    expect(stats.deriveCalls).toBe(1); // a failed read is not retried within the TTL
    expect(stats.deriveFailures).toBe(1);
    expect(lines.filter((l) => l.includes('served a call unchecked'))).toEqual([expect.stringContaining('customer cold-serve')]);
    expect(lines.filter((l) => l.includes('could not read a balance'))).toEqual([expect.stringMatching(/customer cold-serve; SERVICE_UNAVAILABLE/)]);
  });

  it("whenUnavailable 'refuse': 503 problem+json with Retry-After, counted and reported", async () => {
    sandbox.setFaults({ derive: { status: 502 } });
    const gated = await app({ whenUnavailable: 'refuse' });
    const res = await fetch(`${gated.app.url}/v1/work`, { headers: { 'x-customer': 'cold-refuse' } });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toEqual({
      type: PROBLEM_TYPES.balanceUnavailable,
      title: 'Balance unavailable',
      status: 503,
      detail: 'The balance of customer cold-refuse could not be checked just now; try again in a few seconds.',
      customerId: 'cold-refuse',
      balance: null,
      price: 1,
    });
    expect((await gated.call('cold-refuse')).status).toBe(503);
    expect(gated.gate.stats()).toMatchObject({ unavailableRefused: 2, unavailableServed: 0, allowed: 0 });
    expect(lines.filter((l) => l.includes('refused a call'))).toHaveLength(1);
  });

  it('slow: the policy decides while the first read is under way, the balance once it answers', async () => {
    sandbox.topUp('late', 2);
    sandbox.setFaults({ derive: { latencyMs: 1500 } });
    const gated = await app({});
    expect((await gated.call('late')).status).toBe(200); // waited 200 ms, then served unchecked
    expect(gated.gate.stats()).toMatchObject({ unavailableServed: 1, waited: 1 });
    await waitFor(() => gated.gate.stats().readsInFlight === 0, 'the slow read answered');
    await gated.meter.flush({ timeoutMs: 10_000 });
    // The balance decides from now on. The unchecked call was delivered (and verified) while the
    // read was under way: the read may or may not include it, so it is also still held, counted
    // twice for this one refresh (the safe side): 2 - 1 - 1.
    expect((await gated.call('late')).status).toBe(402);
    sandbox.setFaults({});
    gated.clock.advance(TTL);
    await gated.call('late');
    await waitFor(() => gated.gate.stats().readsInFlight === 0 && gated.gate.stats().deriveCalls === 2, 'the next refresh');
    // 2 - 1 (the call served unchecked, billed): exactly one more.
    expect((await gated.call('late')).status).toBe(200);
    expect((await gated.call('late')).status).toBe(402);
    expect(gated.gate.stats()).toMatchObject({ unavailableServed: 1, allowed: 1, deriveFailures: 0 });
  });

  it('down after a read: the cached balance decides (stale reads) until maxStaleMs, then the policy', async () => {
    sandbox.topUp('known', 3);
    const gated = await app({ maxStaleMs: 10 * TTL });
    expect((await gated.call('known')).status).toBe(200);
    sandbox.setFaults({ derive: { status: 503 } });
    gated.clock.advance(2 * TTL);
    expect((await gated.call('known')).status).toBe(200);
    await waitFor(() => gated.gate.stats().readsInFlight === 0, 'the failed refresh');
    expect((await gated.call('known')).status).toBe(200);
    expect((await gated.call('known')).status).toBe(402); // 3 calls: the stale balance still stops the fourth
    expect(gated.gate.stats()).toMatchObject({ staleReads: 3, deriveFailures: 1, unavailableServed: 0 });
    gated.clock.advance(10 * TTL);
    expect((await gated.call('known')).status).toBe(200); // too old to decide: whenUnavailable 'serve'
    expect(gated.gate.stats().unavailableServed).toBe(1);
  });

  it('reports with default settings on the process output (a Node warning, on stderr)', async () => {
    sandbox.setFaults({ derive: { status: 503 } });
    const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const gated = await gatedApp(sandbox, { ttlMs: TTL, waitMs: 50 });
      apps.push(gated);
      expect((await gated.call('cold-default')).status).toBe(200);
      const written = warnings.mock.calls.map(([line]) => String(line));
      expect(written).toContainEqual(expect.stringContaining('served a call unchecked'));
      expect(warnings.mock.calls.every(([, options]) => (options as { code?: string }).code === 'PACSPACE_METERING')).toBe(true);
    } finally {
      warnings.mockRestore();
    }
  });
});
