import { startSandbox, SandboxConfigError, validateFaults, type FaultConfig, type Sandbox } from './index.js';
import { BATCH, DELTA, delta, post, rawPost } from './test-helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ maxBodyBytes: 64 * 1024 });
});
afterAll(() => sb.close());
beforeEach(() => {
  sb.setFaults({});
  sb.reset();
});

const items = (n: number, prefix = 'i') => Array.from({ length: n }, (_, i) => delta({ customerId: `cust_${i % 3}`, referenceId: `${prefix}${i}` }));

// Issue 20, item 18: the request log ties a request to what it committed, names a batch's
// customers, and counts the batch items a fault failed (the page shows all three).
describe('the request log links requests to the ledger', () => {
  it('lists the records a request committed, a batch\'s customers, and the items a fault failed', async () => {
    sb.setFaults({ itemFailures: { customerIds: ['cust_bad'] } });
    await post(sb, DELTA, delta({ referenceId: 'single' }));
    await post(sb, BATCH, {
      deltas: [delta({ customerId: 'cust_a', referenceId: 'a' }), delta({ customerId: 'cust_bad', referenceId: 'b' }), delta({ customerId: 'cust_a', referenceId: 'c' }), delta({ customerId: 'cust_z', referenceId: 'd' })],
    });
    const { requests, deltas, counts } = sb.ledger();
    expect(deltas.map((d) => [d.recordId, d.referenceId])).toEqual([['rec_1', 'single'], ['rec_2', 'a'], ['rec_3', 'c'], ['rec_4', 'd']]);
    expect(requests[0]).toMatchObject({ customerId: 'cust_1', recordIds: ['rec_1'] });
    expect(requests[0]!.customerIds).toBeUndefined();
    expect(requests[1]).toMatchObject({ customerIds: ['cust_a', 'cust_bad', 'cust_z'], recordIds: ['rec_2', 'rec_3', 'rec_4'], items: { failed: 1, faulted: 1 } });
    expect(counts).toMatchObject({ faults: 0, itemFaults: 1 });
  });

  it('names a batch\'s customers when a fault answered it, with no records', async () => {
    sb.setFaults({ serverError: { rate: 1, statuses: [503] } });
    await post(sb, BATCH, { deltas: [delta({ customerId: 'cust_a' }), delta({ customerId: 'cust_b' })] });
    const [request] = sb.ledger().requests;
    expect(request).toMatchObject({ status: 503, outcome: 'fault:server-error', customerIds: ['cust_a', 'cust_b'] });
    expect(request!.recordIds).toBeUndefined();
  });
});

describe('itemFailures', () => {
  it('fails the items of listed customers inside a 201, commits nothing of them, and logs the item counts', async () => {
    sb.setFaults({ itemFailures: { customerIds: ['cust_bad'] } });
    const res = await post(sb, BATCH, {
      deltas: [delta({ referenceId: 'a' }), delta({ customerId: 'cust_bad', referenceId: 'b' }), delta({ referenceId: 'c', delta: 2 })],
    });
    expect(res.status).toBe(201);
    expect(res.json.data).toMatchObject({ totalQueued: 2, totalFailed: 1 });
    expect(res.json.data.results[1]).toEqual({
      index: 1,
      customerId: 'cust_bad',
      delta: 1,
      status: 'FAILED',
      error: 'SERVICE_UNAVAILABLE',
      message: expect.stringContaining('not committed'),
    });
    expect(res.json.data.results.map((r: { status: string }) => r.status)).toEqual(['QUEUED', 'FAILED', 'QUEUED']);
    const ledger = sb.ledger();
    expect(ledger.deltas.map((d) => d.referenceId)).toEqual(['a', 'c']);
    expect(ledger.requests[0]).toMatchObject({
      status: 201,
      outcome: 'committed',
      items: { total: 3, committed: 2, replayed: 0, failed: 1, faulted: 1, failures: { SERVICE_UNAVAILABLE: 1 } },
    });
  });

  it('with rate 1 fails every new item with a code from the list and the retry hint, and files the batch as a fault', async () => {
    sb.setFaults({ itemFailures: { rate: 1, codes: ['CADENCE_LIMIT', 'VALIDATION_ERROR'], retryAfterSeconds: 3 } });
    const res = await post(sb, BATCH, { deltas: items(20) });
    const { results, totalFailed } = res.json.data;
    expect(totalFailed).toBe(20);
    for (const r of results) expect(r).toMatchObject({ status: 'FAILED', retryAfterSeconds: 3 });
    const codes = new Set(results.map((r: { error: string }) => r.error));
    expect(codes).toEqual(new Set(['CADENCE_LIMIT', 'VALIDATION_ERROR']));
    const { deltas, requests, counts } = sb.ledger();
    expect(deltas).toEqual([]);
    expect(requests[0]).toMatchObject({ outcome: 'fault:item-failure', items: { total: 20, failed: 20 } });
    expect(counts.faults).toBe(1);
  });

  it('still answers replays of committed items QUEUED with idempotent: true', async () => {
    await post(sb, BATCH, { deltas: [delta({ referenceId: 'kept' })] });
    sb.setFaults({ itemFailures: { rate: 1 } });
    const res = await post(sb, BATCH, { deltas: [delta({ referenceId: 'kept' }), delta({ referenceId: 'new' })] });
    expect(res.json.data.results[0]).toMatchObject({ status: 'QUEUED', recordId: 'rec_1', idempotent: true });
    expect(res.json.data.results[1]).toMatchObject({ status: 'FAILED', error: 'SERVICE_UNAVAILABLE' });
    expect(sb.ledger().requests[1]!.items).toEqual({ total: 2, committed: 0, replayed: 1, failed: 1, faulted: 1, failures: { SERVICE_UNAVAILABLE: 1 } });
  });

  it('lets a failed item be committed by a later batch', async () => {
    sb.setFaults({ itemFailures: { customerIds: ['cust_1'] } });
    expect((await post(sb, BATCH, { deltas: [delta({ referenceId: 'later' })] })).json.data.totalFailed).toBe(1);
    sb.setFaults({});
    const res = await post(sb, BATCH, { deltas: [delta({ referenceId: 'later' })] });
    expect(res.json.data.results[0]).toMatchObject({ status: 'QUEUED', recordId: 'rec_1' });
    expect(res.json.data.results[0].idempotent).toBeUndefined();
  });

  it('draws the same failures for the same seed and batch sequence, and again after reset()', async () => {
    const faults: FaultConfig = { itemFailures: { rate: 0.5, codes: ['A', 'B', 'C'] } };
    const a = await startSandbox({ seed: 5, faults });
    const b = await startSandbox({ seed: 5, faults });
    const c = await startSandbox({ seed: 6, faults });
    const pattern = async (target: Sandbox): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post(target, BATCH, { deltas: items(10, `b${i}-`) });
        out.push(...res.json.data.results.map((r: { status: string; error?: string }) => r.error ?? r.status));
      }
      return out;
    };
    try {
      const first = await pattern(a);
      expect(await pattern(b)).toEqual(first);
      expect(await pattern(c)).not.toEqual(first);
      expect(first).toContain('QUEUED');
      expect(first.filter((s) => s !== 'QUEUED').length).toBeGreaterThan(0);
      a.reset();
      expect(await pattern(a)).toEqual(first);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('does not touch the single-delta endpoint', async () => {
    sb.setFaults({ itemFailures: { rate: 1 } });
    expect((await post(sb, DELTA, delta())).status).toBe(201);
  });
});

describe('batchRejection', () => {
  it('refuses a whole batch naming the first refused item, commits nothing, and does not burn the key', async () => {
    sb.setFaults({ batchRejection: { customerIds: ['cust_bad', 'cust_worse'] } });
    const body = { deltas: [delta({ referenceId: 'ok' }), delta({ customerId: 'cust_worse' }), delta({ customerId: 'cust_bad' })] };
    const res = await post(sb, BATCH, body, { idempotencyKey: 'batch-key' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'deltas[1].customerId' });
    expect(sb.ledger().deltas).toEqual([]);
    expect(sb.ledger().requests[0]).toMatchObject({ status: 400, outcome: 'fault:batch-rejection' });

    sb.setFaults({});
    const retry = await post(sb, BATCH, body, { idempotencyKey: 'batch-key' });
    expect(retry.status).toBe(201);
    expect(retry.json.data.idempotent).toBeUndefined();
  });

  it('gives a single delta for a refused customer the same status, naming customerId', async () => {
    sb.setFaults({ batchRejection: { customerIds: ['cust_bad'], status: 422 } });
    const res = await post(sb, DELTA, delta({ customerId: 'cust_bad' }));
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'UNPROCESSABLE_ENTITY', field: 'customerId' });
    expect((await post(sb, DELTA, delta({ customerId: 'cust_good' }))).status).toBe(201);
    expect((await post(sb, BATCH, { deltas: [delta({ customerId: 'cust_good' })] })).status).toBe(201);
  });

  it('answers 403 FORBIDDEN when configured so', async () => {
    sb.setFaults({ batchRejection: { customerIds: ['cust_bad'], status: 403 } });
    const res = await post(sb, BATCH, { deltas: [delta({ customerId: 'cust_bad' })] });
    expect(res.status).toBe(403);
    expect(res.json.error).toMatchObject({ code: 'FORBIDDEN', field: 'deltas[0].customerId' });
  });
});

describe('write-pipeline faults on batch requests', () => {
  const batch = { deltas: [delta({ referenceId: 'p1' }), delta({ referenceId: 'p2', delta: 2 })] };

  it('serverError answers a 5xx and commits nothing', async () => {
    sb.setFaults({ serverError: { requests: [1], statuses: [503], retryAfterSeconds: 4 } });
    const res = await post(sb, BATCH, batch);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('4');
    expect(sb.ledger().deltas).toEqual([]);
    expect(sb.ledger().requests[0]).toMatchObject({ outcome: 'fault:server-error' });
    expect((await post(sb, BATCH, batch)).json.data.totalQueued).toBe(2);
  });

  it('rateLimit answers 429 RATE_LIMITED with Retry-After', async () => {
    sb.setFaults({ rateLimit: { every: 1, retryAfterSeconds: 6 } });
    const res = await post(sb, BATCH, batch);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('6');
    expect(res.json.error).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 6 });
    expect(sb.ledger().deltas).toEqual([]);
  });

  it('resetBeforeProcessing resets the connection with nothing committed', async () => {
    sb.setFaults({ resetBeforeProcessing: { requests: [1] } });
    expect(await rawPost(sb, BATCH, batch)).toEqual({ kind: 'dropped', code: 'ECONNRESET' });
    expect(sb.ledger().deltas).toEqual([]);
    expect(sb.ledger().requests[0]).toMatchObject({ status: 0, outcome: 'fault:reset' });
  });

  it('commitThenDrop commits every item, drops the answer, logs the items, and replays under the same key', async () => {
    sb.setFaults({ commitThenDrop: { requests: [1] } });
    expect((await rawPost(sb, BATCH, batch, { 'idempotency-key': 'drop-key' })).kind).toBe('dropped');
    expect(sb.ledger().deltas.map((d) => d.referenceId)).toEqual(['p1', 'p2']);
    expect(sb.ledger().requests[0]).toMatchObject({ status: 0, outcome: 'fault:commit-drop', items: { total: 2, committed: 2 } });
    const retry = await post(sb, BATCH, batch, { idempotencyKey: 'drop-key' });
    expect(retry.json.data).toMatchObject({ totalQueued: 2, idempotent: true });
    expect(sb.ledger().deltas).toHaveLength(2);
  });

  it('answers 413 PAYLOAD_TOO_LARGE to a batch body over maxBodyBytes', async () => {
    const big = { deltas: Array.from({ length: 100 }, (_, i) => delta({ referenceId: `big${i}`, metadata: { pad: 'x'.repeat(1000) } })) };
    const res = await post(sb, BATCH, big);
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(sb.ledger().deltas).toEqual([]);
  });
});

describe('validating the batch faults', () => {
  const bad: [string, unknown, string][] = [
    ['itemFailures without rate or customerIds', { itemFailures: { codes: ['X'] } }, 'faults.itemFailures'],
    ['an itemFailures rate above 1', { itemFailures: { rate: 2 } }, 'faults.itemFailures.rate'],
    ['an empty customerIds list', { itemFailures: { customerIds: [] } }, 'faults.itemFailures.customerIds'],
    ['a bad customer id', { itemFailures: { customerIds: ['ok', 'not ok'] } }, 'faults.itemFailures.customerIds[1]'],
    ['an empty codes list', { itemFailures: { rate: 1, codes: [] } }, 'faults.itemFailures.codes'],
    ['a code with spaces', { itemFailures: { rate: 1, codes: ['NO GOOD'] } }, 'faults.itemFailures.codes[0]'],
    ['a negative retryAfterSeconds', { itemFailures: { rate: 1, retryAfterSeconds: -1 } }, 'faults.itemFailures.retryAfterSeconds'],
    ['an unknown itemFailures key', { itemFailures: { rate: 1, every: 2 } }, 'faults.itemFailures.every'],
    ['batchRejection without customerIds', { batchRejection: {} }, 'faults.batchRejection.customerIds'],
    ['a batchRejection status of 500', { batchRejection: { customerIds: ['c'], status: 500 } }, 'faults.batchRejection.status'],
  ];
  it.each(bad)('rejects %s naming the field', (_name, config, field) => {
    let error: unknown;
    try {
      validateFaults(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SandboxConfigError);
    expect((error as SandboxConfigError).field).toBe(field);
    expect(() => sb.setFaults(config as FaultConfig)).toThrow(field);
  });

  it('keeps valid settings as given', () => {
    const faults: FaultConfig = {
      itemFailures: { rate: 0.25, customerIds: ['c1'], codes: ['RATE_LIMITED'], retryAfterSeconds: 2 },
      batchRejection: { customerIds: ['c2'], status: 422 },
    };
    expect(validateFaults(faults)).toEqual(faults);
  });
});
