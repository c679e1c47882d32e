import { startSandbox, type Sandbox } from './index.js';
import { BATCH, DELTA, delta, post } from './test-helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(() => sb.close());
beforeEach(() => sb.reset());

describe('POST /api/v1/balance/delta/batch', () => {
  it('commits valid items and fails invalid ones independently', async () => {
    const res = await post(sb, BATCH, {
      deltas: [delta({ referenceId: 'r1' }), delta({ delta: 0 }), 'not an object', delta({ customerId: 'cust_2', delta: 5, referenceId: 'r2' })],
    });
    expect(res.status).toBe(201);
    const { totalQueued, totalFailed, results } = res.json.data;
    expect({ totalQueued, totalFailed }).toEqual({ totalQueued: 2, totalFailed: 2 });
    expect(results[0]).toMatchObject({ index: 0, customerId: 'cust_1', delta: 1, status: 'QUEUED', recordId: 'rec_1' });
    expect(results[1]).toMatchObject({ index: 1, customerId: 'cust_1', delta: 0, status: 'FAILED', error: 'VALIDATION_ERROR', field: 'deltas[1].delta' });
    expect(results[2]).toMatchObject({ index: 2, customerId: null, delta: null, status: 'FAILED', error: 'VALIDATION_ERROR', field: 'deltas[2]' });
    expect(results[3]).toMatchObject({ index: 3, customerId: 'cust_2', delta: 5, status: 'QUEUED', recordId: 'rec_2' });
    expect(results[0].idempotent).toBeUndefined();
    expect(sb.ledger().deltas.map((d) => [d.recordId, d.referenceId])).toEqual([['rec_1', 'r1'], ['rec_2', 'r2']]);
    expect(sb.ledger().requests[0]).toMatchObject({ status: 201, outcome: 'committed' });
  });

  it('acknowledges an already-committed referenceId with the same content, and fails a different one', async () => {
    await post(sb, DELTA, delta({ referenceId: 'single', metadata: { x: 1 } }));
    await post(sb, BATCH, { deltas: [delta({ referenceId: 'r1' }), delta({ referenceId: 'r2', delta: 2 })] });
    const res = await post(sb, BATCH, {
      deltas: [
        delta({ referenceId: 'r1' }), // same content
        delta({ referenceId: 'r2', delta: 3 }), // same referenceId, different delta
        delta({ referenceId: 'single', metadata: { x: 1 } }), // committed by the single endpoint
        delta({ referenceId: 'r3' }), // new
        delta({ referenceId: 'r3' }), // repeated inside this batch
      ],
    });
    const { results, totalQueued, totalFailed } = res.json.data;
    expect({ totalQueued, totalFailed }).toEqual({ totalQueued: 4, totalFailed: 1 });
    expect(results[0]).toMatchObject({ status: 'QUEUED', recordId: 'rec_2', idempotent: true });
    expect(results[1]).toMatchObject({ status: 'FAILED', error: 'IDEMPOTENCY_CONFLICT' });
    expect(results[2]).toMatchObject({ status: 'QUEUED', recordId: 'rec_1', idempotent: true });
    expect(results[3]).toMatchObject({ status: 'QUEUED', recordId: 'rec_4' });
    expect(results[3].idempotent).toBeUndefined();
    expect(results[4]).toMatchObject({ status: 'QUEUED', recordId: 'rec_4', idempotent: true });
    expect(sb.ledger().deltas.map((d) => d.referenceId)).toEqual(['single', 'r1', 'r2', 'r3']);
  });

  it('files an all-replay batch as replayed and an all-invalid one as invalid', async () => {
    await post(sb, BATCH, { deltas: [delta({ referenceId: 'a' })] });
    await post(sb, BATCH, { deltas: [delta({ referenceId: 'a' })] });
    await post(sb, BATCH, { deltas: [delta({ reason: '' })] });
    expect(sb.ledger().requests.map((r) => r.outcome)).toEqual(['committed', 'replayed', 'invalid']);
  });

  it('accepts 1 to 100 items, else 400 naming deltas', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => delta({ referenceId: `n${i}` }));
    const ok = await post(sb, BATCH, { deltas: hundred });
    expect(ok.status).toBe(201);
    expect(ok.json.data.totalQueued).toBe(100);
    for (const body of [{ deltas: [] }, { deltas: [...hundred, delta()] }, {}, { deltas: 'x' }]) {
      const res = await post(sb, BATCH, body);
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'deltas' });
      expect(res.json.error.message).toContain('1-100');
    }
    expect(sb.ledger().deltas).toHaveLength(100);
  });
});
