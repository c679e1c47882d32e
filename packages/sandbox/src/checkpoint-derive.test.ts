import { startSandbox, type Sandbox } from './index.js';
import { CHECKPOINT, DELTA, call, delta, monthFromNow, post } from './test-helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(() => sb.close());
beforeEach(() => sb.reset());

const derive = (query: string, customer = 'cust_1') => call(sb, 'GET', `/api/v1/balance/derive/${customer}${query}`);

describe('POST /api/v1/balance/checkpoint', () => {
  it('creates a checkpoint for the current month and returns the same one for the same scope', async () => {
    await post(sb, DELTA, delta({ delta: 5 }));
    await post(sb, DELTA, delta({ delta: -2 }));
    await post(sb, DELTA, delta({ customerId: 'cust_2', delta: 10 }));

    const first = await post(sb, CHECKPOINT, { customerId: 'cust_1' });
    expect(first.status).toBe(201);
    expect(first.json.data).toEqual({
      checkpointId: expect.stringMatching(/^chk_[0-9a-f]+$/),
      proofRoot: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      status: 'QUEUED',
      customerId: 'cust_1',
      period: monthFromNow(0),
      deltasCount: 2,
      netChange: 3,
    });
    // Same resolved scope, spelled differently and without an Idempotency-Key.
    const again = await post(sb, CHECKPOINT, { customerId: 'cust_1', period: monthFromNow(0) });
    expect(again.json.data).toMatchObject({ checkpointId: first.json.data.checkpointId, proofRoot: first.json.data.proofRoot, idempotent: true });

    const all = await post(sb, CHECKPOINT, {});
    expect(all.json.data).toMatchObject({ customerId: null, deltasCount: 3, netChange: 13 });
    expect(all.json.data.checkpointId).not.toBe(first.json.data.checkpointId);

    const previous = await post(sb, CHECKPOINT, { customerId: 'cust_1', period: monthFromNow(-1) });
    expect(previous.json.data).toMatchObject({ deltasCount: 0, netChange: 0, proofRoot: `0x${'0'.repeat(64)}` });

    const { checkpoints, requests } = sb.ledger();
    expect(checkpoints.map((c) => [c.customerId, c.period])).toEqual([
      ['cust_1', monthFromNow(0)],
      [null, monthFromNow(0)],
      ['cust_1', monthFromNow(-1)],
    ]);
    expect(requests.slice(3).map((r) => r.outcome)).toEqual(['committed', 'replayed', 'committed', 'committed']);
  });

  it('404s a customer with no deltas', async () => {
    const res = await post(sb, CHECKPOINT, { customerId: 'ghost' });
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('NOT_FOUND');
  });

  it.each([
    [{ period: monthFromNow(1) }, 'period'],
    [{ period: '2026-13' }, 'period'],
    [{ period: 202601 }, 'period'],
    [{ customerId: 'bad id' }, 'customerId'],
    [{ periodd: '2026-01' }, 'periodd'],
  ])('rejects %j with 400 naming %s', async (body, field) => {
    await post(sb, DELTA, delta());
    const res = await post(sb, CHECKPOINT, body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field });
  });

  it.each(['timePreset', 'startDate', 'endDate', 'mode', 'fingerprints'])('refuses the unmodelled field %s with 400 NOT_IMPLEMENTED_IN_SANDBOX', async (field) => {
    await post(sb, DELTA, delta());
    const res = await post(sb, CHECKPOINT, { [field]: 'x' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'NOT_IMPLEMENTED_IN_SANDBOX', field });
    expect(sb.ledger().checkpoints).toEqual([]);
  });
});

describe('GET /api/v1/balance/derive/:customerId', () => {
  beforeEach(async () => {
    for (let i = 1; i <= 5; i++) await post(sb, DELTA, delta({ delta: i, referenceId: `d${i}` }));
    await post(sb, DELTA, delta({ customerId: 'cust_2', delta: 100 }));
  });

  it('sums every matching delta and pages only the list', async () => {
    const res = await derive('?limit=2&offset=1');
    expect(res.status).toBe(200);
    const data = res.json.data;
    expect(data).toMatchObject({ customerId: 'cust_1', computedBalance: 15, deltasCount: 5, limit: 2, offset: 1 });
    expect(data.deltas.map((d: { delta: number }) => d.delta)).toEqual([2, 3]);
    expect(data.deltas[0]).toMatchObject({ recordId: 'rec_2', referenceId: 'd2', status: 'VERIFIED' });
    expect(data.latestReceiptId).toBe(sb.ledger().deltas[4]!.receiptId);

    const defaults = (await derive('')).json.data;
    expect(defaults).toMatchObject({ computedBalance: 15, deltasCount: 5, limit: 100, offset: 0 });
    expect(defaults.deltas).toHaveLength(5);
    expect((await derive('?offset=10')).json.data).toMatchObject({ computedBalance: 15, deltas: [] });
  });

  it('scopes by period or by a half-open date range', async () => {
    expect((await derive(`?period=${monthFromNow(0)}`)).json.data).toMatchObject({ computedBalance: 15, deltasCount: 5 });
    expect((await derive(`?period=${monthFromNow(-1)}`)).json.data).toMatchObject({ computedBalance: 0, deltasCount: 0, latestReceiptId: null });

    const firstAt = sb.ledger().deltas[0]!.committedAt;
    const from = new Date(Date.parse(firstAt) - 60_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    expect((await derive(`?startDate=${from}&endDate=${to}`)).json.data).toMatchObject({ computedBalance: 15 });
    // End is exclusive: a range ending exactly at the first commit excludes it.
    const none = (await derive(`?startDate=${from}&endDate=${firstAt}`)).json.data;
    expect(none.deltas.map((d: { referenceId: string }) => d.referenceId)).not.toContain('d1');
  });

  it('returns an empty balance for a customer with no deltas', async () => {
    expect((await derive('', 'nobody')).json.data).toMatchObject({ computedBalance: 0, deltasCount: 0, deltas: [] });
  });

  it.each([
    ['?limit=0', 'VALIDATION_ERROR', 'limit'],
    ['?limit=1001', 'VALIDATION_ERROR', 'limit'],
    ['?limit=abc', 'VALIDATION_ERROR', 'limit'],
    ['?offset=-1', 'VALIDATION_ERROR', 'offset'],
    ['?period=2026-1', 'VALIDATION_ERROR', 'period'],
    ['?period=2026-01&startDate=2026-01-01', 'INVALID_SCOPE_COMBINATION', 'period'],
    ['?startDate=2026-01-01', 'VALIDATION_ERROR', 'endDate'],
    ['?startDate=yesterday&endDate=2026-01-01', 'VALIDATION_ERROR', 'startDate'],
    ['?startDate=2026-02-01&endDate=2026-01-01', 'VALIDATION_ERROR', 'endDate'],
  ])('rejects %s with 400 %s naming %s', async (query, code, field) => {
    const res = await derive(query);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code, field });
  });
});
