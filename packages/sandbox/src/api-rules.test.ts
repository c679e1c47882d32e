import { duplicateReferenceIds, startSandbox, SandboxConfigError, type Sandbox } from './index.js';
import { BATCH, DELTA, call, delta, post } from './test-helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(() => sb.close());
beforeEach(() => sb.reset());

describe('live keys', () => {
  it('answers 403 API_KEY_ENVIRONMENT_HOST_MISMATCH to a pk_live_ key on every route, without echoing it', async () => {
    const live = 'pk_live_abc123def456.sk_7890ghijklmnop';
    for (const [method, path] of [['POST', DELTA], ['GET', '/api/v1/balance/derive/cust_1'], ['GET', '/_sandbox/ledger']] as const) {
      const res = await call(sb, method, path, { apiKey: live, body: method === 'POST' ? delta() : undefined });
      expect(res.status).toBe(403);
      expect(res.json.error).toMatchObject({ code: 'API_KEY_ENVIRONMENT_HOST_MISMATCH', message: expect.stringContaining('pk_test_') });
      expect(res.text).not.toContain('abc123def456');
    }
    expect(sb.ledger().deltas).toEqual([]);
    expect(sb.ledger().requests.map((r) => r.outcome)).toEqual(['live-key', 'live-key']);
  });

  it('refuses to start with a live key, without putting it in the message', async () => {
    const error = await startSandbox({ apiKey: 'pk_live_public.secretpart' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxConfigError);
    expect((error as SandboxConfigError).field).toBe('apiKey');
    expect((error as Error).message).toMatch(/apiKey must be a test key/);
    expect((error as Error).message).not.toContain('secretpart');
  });
});

describe('adjusts', () => {
  it('links a correction to the committed delta it names, by referenceId or recordId', async () => {
    const original = (await post(sb, DELTA, delta({ delta: 5, referenceId: 'orig' }))).json.data;
    expect((await post(sb, DELTA, delta({ delta: -5, adjusts: { referenceId: 'orig' } }))).status).toBe(201);
    expect((await post(sb, DELTA, delta({ delta: 1, adjusts: { recordId: original.recordId } }))).status).toBe(201);
    const batch = await post(sb, BATCH, { deltas: [delta({ delta: 2, referenceId: 'b0' }), delta({ delta: -2, adjusts: { referenceId: 'b0' } })] });
    expect(batch.json.data.totalQueued).toBe(2);
    expect(sb.ledger().deltas.map((d) => d.adjusts)).toEqual([
      null,
      { recordId: original.recordId, referenceId: 'orig' },
      { recordId: original.recordId, referenceId: 'orig' },
      null,
      { recordId: 'rec_4', referenceId: 'b0' },
    ]);
  });

  it.each([
    [{ referenceId: 'never-committed' }, 'adjusts.referenceId', 'names no committed delta'],
    [{ recordId: 'rec_999' }, 'adjusts.recordId', 'names no committed delta'],
    [{ referenceId: 'other' }, 'adjusts.referenceId', 'another customer'],
    [{ referenceId: 'a', recordId: 'rec_1' }, 'adjusts', '{ referenceId } or { recordId }'],
    [{ id: 'x' }, 'adjusts', '{ referenceId } or { recordId }'],
    ['rec_1', 'adjusts', '{ referenceId } or { recordId }'],
    [{ referenceId: '' }, 'adjusts.referenceId', '1-512'],
  ])('refuses adjusts %j with 400 naming %s', async (adjusts, field, text) => {
    await post(sb, DELTA, delta({ customerId: 'cust_other', referenceId: 'other' }));
    const res = await post(sb, DELTA, delta({ adjusts }));
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field });
    expect(res.json.error.message).toContain(text);
    const item = (await post(sb, BATCH, { deltas: [delta({ adjusts })] })).json.data.results[0];
    expect(item).toMatchObject({ status: 'FAILED', error: 'VALIDATION_ERROR', field: `deltas[0].${field}` });
    expect(sb.ledger().deltas).toHaveLength(1);
  });
});

describe('the repeated-referenceId rule (single vs batch)', () => {
  it('single deltas dedupe only by Idempotency-Key; batch items dedupe by referenceId', async () => {
    // Single: a new key (or none) commits the same referenceId again.
    await post(sb, DELTA, delta({ referenceId: 'single-ref' }), { idempotencyKey: 'k1' });
    await post(sb, DELTA, delta({ referenceId: 'single-ref' }), { idempotencyKey: 'k2' });
    await post(sb, DELTA, delta({ referenceId: 'single-ref' }));
    // Batch: every batch under its own key, yet the item is committed once.
    await post(sb, BATCH, { deltas: [delta({ referenceId: 'batch-ref' })] }, { idempotencyKey: 'b1' });
    const again = await post(sb, BATCH, { deltas: [delta({ referenceId: 'batch-ref' })] }, { idempotencyKey: 'b2' });
    expect(again.json.data.results[0]).toMatchObject({ status: 'QUEUED', idempotent: true });
    expect(duplicateReferenceIds(sb.ledger())).toEqual(['single-ref']);
    expect(sb.ledger().deltas.filter((d) => d.referenceId === 'single-ref')).toHaveLength(3);
  });
});

describe('deeply nested metadata', () => {
  const nested = (levels: number): Record<string, unknown> => {
    const root: Record<string, unknown> = {};
    let node = root;
    for (let i = 1; i < levels; i++) node = (node.a = {}) as Record<string, unknown>;
    return root;
  };
  /** Built as text: JSON.stringify itself would overflow the stack on such depth. */
  const deepBody = (levels: number) => `{"customerId":"cust_1","delta":1,"reason":"r","metadata":${'{"a":'.repeat(levels)}1${'}'.repeat(levels + 1)}`;

  it('accepts 32 levels, and the ledger, the control route and derive keep answering', async () => {
    expect((await post(sb, DELTA, delta({ metadata: nested(32) }), { idempotencyKey: 'deep-ok' })).status).toBe(201);
    expect(sb.ledger().deltas).toHaveLength(1);
    expect((await call(sb, 'GET', '/_sandbox/ledger')).status).toBe(200);
    expect((await call(sb, 'GET', '/_sandbox/overview')).status).toBe(200);
    expect((await call(sb, 'GET', '/api/v1/balance/derive/cust_1')).json.data.deltasCount).toBe(1);
  });

  it.each([33, 3000, 150_000])('answers %i levels with 400 naming metadata, never 500, with or without a key', async (levels) => {
    for (const headers of [{}, { 'idempotency-key': `deep-${levels}` }]) {
      const res = await call(sb, 'POST', DELTA, { rawBody: deepBody(levels), headers });
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'metadata' });
    }
    const batch = await call(sb, 'POST', BATCH, { rawBody: `{"deltas":[{"customerId":"c","delta":1,"reason":"r"},${deepBody(levels)}]}` });
    expect(batch.status).toBe(400);
    expect(batch.json.error.field).toBe('deltas[1].metadata');
    expect(sb.ledger().deltas).toEqual([]);
    expect((await call(sb, 'GET', '/_sandbox/ledger')).status).toBe(200);
  });

  it('refuses metadata over 64 KiB naming metadata', async () => {
    const res = await post(sb, DELTA, delta({ metadata: { pad: 'x'.repeat(70_000) } }));
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'metadata' });
  });
});

// Issue 20, item 17: the official SDKs send X-Chain-Id (296 with pk_test_ keys, 295 with pk_live_).
describe('X-Chain-Id', () => {
  it('takes 296 (the sandbox network) or no header at all, on writes and reads', async () => {
    for (const headers of [{ 'x-chain-id': '296' }, {}]) {
      expect((await call(sb, 'POST', DELTA, { body: delta(), headers })).status).toBe(201);
      expect((await call(sb, 'GET', '/api/v1/balance/derive/cust_1', { headers })).status).toBe(200);
    }
    expect(sb.ledger().requests.map((r) => r.chainId)).toEqual(['296', '296', null, null]);
  });

  it.each([
    ['295', 'the production network'],
    ['1234', 'another network'],
    ['garbage', 'not a number'],
    ['', 'empty'],
  ])('refuses %j (%s) with 400 naming X-Chain-Id, committing nothing', async (chainId) => {
    for (const [method, path, body] of [['POST', DELTA, delta()], ['POST', BATCH, { deltas: [delta()] }], ['GET', '/api/v1/balance/derive/cust_1', undefined]] as const) {
      const res = await call(sb, method, path, { body, headers: { 'x-chain-id': chainId } });
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'X-Chain-Id', message: expect.stringContaining('296') });
    }
    expect(sb.ledger().deltas).toEqual([]);
    expect(sb.ledger().requests.map((r) => [r.status, r.outcome, r.chainId])).toEqual(Array(3).fill([400, 'invalid', chainId]));
  });
});

// Issue 20, item 17: delta bodies and batch items refuse fields PacSpace does not define, as
// checkpoint does, rather than commit a delta whose extra field the client believed was used.
describe('unknown fields', () => {
  it('refuses an unknown top-level field on POST /delta with 400 naming it and the known ones', async () => {
    const res = await post(sb, DELTA, delta({ amount: 5 }));
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'amount' });
    expect(res.json.error.message).toBe('amount is not a delta field; the fields are customerId, delta, reason, referenceId, metadata and adjusts');
    expect(sb.ledger().deltas).toEqual([]);
  });

  it('fails a batch item with an unknown field naming deltas[i].<field>, and commits its neighbours', async () => {
    const res = await post(sb, BATCH, { deltas: [delta({ referenceId: 'ok-0' }), delta({ referenceId: 'bad-1', idempotencyKey: 'k' }), delta({ referenceId: 'ok-2' })] });
    expect(res.status).toBe(201);
    expect(res.json.data).toMatchObject({ totalQueued: 2, totalFailed: 1 });
    expect(res.json.data.results[1]).toMatchObject({ index: 1, status: 'FAILED', error: 'VALIDATION_ERROR', field: 'deltas[1].idempotencyKey' });
    expect(sb.ledger().deltas.map((d) => d.referenceId)).toEqual(['ok-0', 'ok-2']);
  });

  it('refuses a batch body with a field besides deltas, naming it', async () => {
    const res = await post(sb, BATCH, { deltas: [delta()], profile: 'daily' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'profile' });
    expect(sb.ledger().deltas).toEqual([]);
  });

  it('takes every documented field', async () => {
    await post(sb, DELTA, delta({ referenceId: 'first' }));
    const res = await post(sb, DELTA, { customerId: 'cust_1', delta: -1, reason: 'fix', referenceId: 'second', metadata: { a: 1 }, adjusts: { referenceId: 'first' } });
    expect(res.status).toBe(201);
    expect((await post(sb, BATCH, { deltas: [{ customerId: 'cust_1', delta: 1, reason: 'r', referenceId: 'third', metadata: {}, adjusts: { recordId: 'rec_1' } }] })).json.data.totalQueued).toBe(1);
  });
});
