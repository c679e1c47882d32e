import { startSandbox, type Sandbox } from './server.js';
import { call, post } from './test-helpers.js';

describe('top-ups and balance reads for testing a balance gate', () => {
  let sb: Sandbox;
  beforeEach(async () => {
    sb = await startSandbox({ verification: { queuedMs: 1500, processingMs: 500 } });
  });
  afterEach(() => sb.close());

  const derived = async (customerId: string) => (await call(sb, 'GET', `/api/v1/balance/derive/${customerId}`)).json.data.computedBalance as number;

  it('a top-up goes through the lifecycle: derive counts it once VERIFIED, like any delta', async () => {
    const delta = sb.topUp('acme', 10);
    expect(delta).toMatchObject({ customerId: 'acme', delta: 10, reason: 'top_up', referenceId: 'sandbox:top_up:1', metadata: { source: 'sandbox' }, status: 'QUEUED' });
    expect(await derived('acme')).toBe(0);
    await waitUntilVerified(sb);
    expect(await derived('acme')).toBe(10);
    sb.topUp('acme', -4, { reason: 'manual_debit' });
    await waitUntilVerified(sb);
    expect(await derived('acme')).toBe(6);
    expect(sb.ledger().deltas.map((d) => d.reason)).toEqual(['top_up', 'manual_debit']);
    expect(sb.ledger().requests.every((r) => r.method === 'GET')).toBe(true); // top-ups are not API traffic
  });

  it('POST /_sandbox/top-up needs the key, and names a bad field', async () => {
    expect((await post(sb, '/_sandbox/top-up', { customerId: 'beta', amount: 5 })).status).toBe(201);
    expect((await post(sb, '/_sandbox/top-up', { customerId: 'beta', amount: 5 }, { apiKey: null })).status).toBe(401);
    for (const [body, field] of [
      [{ customerId: 'a b', amount: 1 }, 'customerId'],
      [{ customerId: 'beta', amount: 0 }, 'amount'],
      [{ customerId: 'beta', amount: 1, note: 'x' }, 'note'],
    ] as const) {
      const res = await post(sb, '/_sandbox/top-up', body);
      expect(res.status).toBe(400);
      expect(res.json.error.field).toBe(field);
    }
    expect(() => sb.topUp('beta', Number.NaN)).toThrow(/topUp\.amount/);
  });

  it('a derive fault makes balance reads slow or fail, deterministically, apart from the write faults', async () => {
    sb.setFaults({ derive: { status: 503, every: 2 }, serverError: { requests: [1] } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(sb, 'GET', '/api/v1/balance/derive/acme')).status);
    expect(statuses).toEqual([200, 503, 200, 503]);
    // The write numbering did not move: the first write still gets its fault.
    expect((await post(sb, '/api/v1/balance/delta', { customerId: 'acme', delta: 1, reason: 'r' })).status).toBeGreaterThanOrEqual(500);
    sb.setFaults({ derive: { status: 429 } });
    const limited = await call(sb, 'GET', '/api/v1/balance/derive/acme');
    expect([limited.status, limited.headers.get('retry-after'), limited.json.error.code]).toEqual([429, '1', 'RATE_LIMITED']);
    sb.setFaults({ derive: { latencyMs: 150 } });
    const started = Date.now();
    expect((await call(sb, 'GET', '/api/v1/balance/derive/acme')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140); // the fault's own effect, not a speed test
    expect(sb.ledger().requests.filter((r) => r.outcome.startsWith('fault:')).map((r) => r.outcome)).toEqual(['fault:server-error', 'fault:server-error', 'fault:server-error', 'fault:rate-limit']);
    expect(() => sb.setFaults({ derive: { status: 404 as never } })).toThrow(/faults\.derive\.status/);
    expect(() => sb.setFaults({ derive: {} })).toThrow(/faults\.derive must be given/);
  });
});

async function waitUntilVerified(sb: Sandbox): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!sb.ledger().deltas.every((d) => d.status === 'VERIFIED')) {
    if (Date.now() > deadline) throw new Error('deltas never verified');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
