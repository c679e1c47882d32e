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
