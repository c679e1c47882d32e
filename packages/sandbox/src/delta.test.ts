import { request } from 'node:http';
import { startSandbox, type Sandbox } from './index.js';
import { DELTA, call, delta, post } from './test-helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ maxBodyBytes: 4096 });
});
afterAll(() => sb.close());
beforeEach(() => sb.reset());

describe('POST /api/v1/balance/delta', () => {
  it('commits a valid delta and answers 201 in the success envelope', async () => {
    const res = await post(sb, DELTA, delta({ delta: -42.5, referenceId: 'ref-1', metadata: { route: '/x' } }));
    expect(res.status).toBe(201);
    expect(res.json).toEqual({
      success: true,
      statusCode: 201,
      data: {
        recordId: 'rec_1',
        receiptId: expect.stringMatching(/^0x[0-9a-f]{64}$/),
        status: 'QUEUED',
        customerId: 'cust_1',
        delta: -42.5,
        referenceId: 'ref-1',
      },
    });
    const [committed] = sb.ledger().deltas;
    expect(committed).toMatchObject({
      recordId: 'rec_1',
      receiptId: res.json.data.receiptId,
      customerId: 'cust_1',
      delta: -42.5,
      reason: 'api_call',
      referenceId: 'ref-1',
      metadata: { route: '/x' },
      idempotencyKey: null,
    });
    expect(Number.isNaN(Date.parse(committed!.committedAt))).toBe(false);
  });

  it('numbers records in commit order', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await post(sb, DELTA, delta())).json.data.recordId);
    expect(ids).toEqual(['rec_1', 'rec_2', 'rec_3']);
  });

  it('accepts the documented boundaries', async () => {
    const edge = delta({ customerId: 'a'.repeat(128), delta: 1_000_000_000, reason: 'r'.repeat(500), referenceId: 'x'.repeat(512) });
    expect((await post(sb, DELTA, edge)).status).toBe(201);
    expect((await post(sb, DELTA, delta({ customerId: 'org:acme.team_1-x', delta: -1_000_000_000 }))).status).toBe(201);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['customerId missing', { customerId: undefined }, 'customerId'],
    ['customerId with a space', { customerId: 'cust 1' }, 'customerId'],
    ['customerId of 129 chars', { customerId: 'a'.repeat(129) }, 'customerId'],
    ['customerId a number', { customerId: 7 }, 'customerId'],
    ['delta zero', { delta: 0 }, 'delta'],
    ['delta a string', { delta: '5' }, 'delta'],
    ['delta above 1e9', { delta: 1_000_000_001 }, 'delta'],
    ['delta below -1e9', { delta: -1e10 }, 'delta'],
    ['reason missing', { reason: undefined }, 'reason'],
    ['reason empty', { reason: '  ' }, 'reason'],
    ['reason of 501 chars', { reason: 'r'.repeat(501) }, 'reason'],
    ['referenceId a number', { referenceId: 12 }, 'referenceId'],
    ['referenceId of 513 chars', { referenceId: 'x'.repeat(513) }, 'referenceId'],
    ['metadata an array', { metadata: [1] }, 'metadata'],
    ['metadata null', { metadata: null }, 'metadata'],
  ];
  it.each(invalid)('rejects %s with 400 VALIDATION_ERROR naming the field', async (_name, override, field) => {
    const res = await post(sb, DELTA, delta(override));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ success: false, statusCode: 400, error: { code: 'VALIDATION_ERROR', field } });
    expect(res.json.error.message).toContain(field);
    expect(res.json.message).toBe(res.json.error.message);
    expect(sb.ledger().deltas).toHaveLength(0);
    expect(sb.ledger().requests.at(-1)).toMatchObject({ status: 400, outcome: 'invalid' });
  });

  it('rejects a body that is not JSON, or not an object', async () => {
    const bad = await call(sb, 'POST', DELTA, { rawBody: '{"customerId":' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'body' });
    const array = await call(sb, 'POST', DELTA, { rawBody: '[1]' });
    expect(array.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'body' });
  });

  it('answers 413 PAYLOAD_TOO_LARGE over maxBodyBytes, with or without Content-Length', async () => {
    const big = delta({ reason: 'r', metadata: { pad: 'x'.repeat(5000) } });
    const res = await post(sb, DELTA, big);
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('PAYLOAD_TOO_LARGE');

    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${sb.url}${DELTA}`, { method: 'POST', agent: false, headers: { 'x-api-key': sb.apiKey } }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 5; i++) req.write('x'.repeat(1000)); // no Content-Length: chunked
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(sb.ledger().deltas).toHaveLength(0);
  });
});

describe('auth', () => {
  const cases: [string, string | null][] = [
    ['missing', null],
    ['wrong', 'pk_test_other.secret'],
    ['a prefix of the real key', 'pk_test_sandbox'],
  ];
  it.each(cases)('answers 401 INVALID_API_KEY when the key is %s, without echoing any key', async (_name, key) => {
    for (const [method, path] of [['POST', DELTA], ['GET', '/api/v1/balance/delta/rec_1'], ['GET', '/_sandbox/ledger']] as const) {
      const res = await call(sb, method, path, { apiKey: key, body: method === 'POST' ? delta() : undefined });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ success: false, statusCode: 401, error: { code: 'INVALID_API_KEY' } });
      expect(res.text).not.toContain(sb.apiKey);
      if (key) expect(res.text).not.toContain(key);
    }
    expect(sb.ledger().deltas).toHaveLength(0);
    expect(sb.ledger().requests.map((r) => r.outcome)).toEqual(['unauthorized', 'unauthorized']);
  });

  it('generates a pk_test_ key by default and accepts a given one', async () => {
    expect(sb.apiKey).toMatch(/^pk_test_sandbox\.[0-9a-f]{32}$/);
    const own = await startSandbox({ apiKey: 'pk_test_abc.def' });
    try {
      expect((await post(own, DELTA, delta())).status).toBe(201);
      expect((await post(own, DELTA, delta(), { apiKey: sb.apiKey })).status).toBe(401);
    } finally {
      await own.close();
    }
  });
});

describe('routing and reads', () => {
  it('answers 404 NOT_FOUND for paths outside the API', async () => {
    for (const [method, path] of [['GET', '/nowhere'], ['POST', '/'], ['GET', '/page/other.js'], ['GET', '/api/v2/balance/delta']]) {
      const res = await call(sb, method!, path!);
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ success: false, statusCode: 404, error: { code: 'NOT_FOUND' } });
    }
  });

  it('answers 501 NOT_IMPLEMENTED_IN_SANDBOX, listing what is implemented, for API routes it lacks', async () => {
    const lacking = [
      ['GET', '/api/v1/balance/nope'],
      ['DELETE', DELTA],
      ['GET', '/api/v1/balance/delta/a/b'],
      ['GET', '/api/v1/balance/limits'],
      ['POST', '/api/v1/balance/compare'],
      ['GET', '/api/v1/verify/0xabc'],
    ];
    for (const [method, path] of lacking) {
      const res = await call(sb, method!, path!);
      expect(res.status).toBe(501);
      expect(res.json.error).toMatchObject({ code: 'NOT_IMPLEMENTED_IN_SANDBOX', implemented: expect.arrayContaining(['POST /api/v1/balance/delta/batch']) });
      expect(res.json.error.message).toContain(`${method} ${path}`);
    }
    expect(sb.ledger().requests.map((r) => r.outcome)).toEqual(lacking.map(() => 'not-implemented'));
    // A missing record is still 404, so a client can tell the two apart.
    expect((await call(sb, 'GET', '/api/v1/balance/delta/rec_404')).status).toBe(404);
  });

  it('reads a committed delta back as VERIFIED, and 404s an unknown recordId', async () => {
    const created = (await post(sb, DELTA, delta({ customerId: 'c:1', delta: 3, referenceId: 'r-9' }))).json.data;
    const res = await call(sb, 'GET', `/api/v1/balance/delta/${created.recordId}`);
    expect(res.status).toBe(200);
    expect(res.json.data).toMatchObject({
      recordId: created.recordId,
      status: 'VERIFIED',
      customerId: 'c:1',
      delta: 3,
      reason: 'api_call',
      referenceId: 'r-9',
      receiptId: created.receiptId,
    });
    const missing = await call(sb, 'GET', '/api/v1/balance/delta/rec_999');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('NOT_FOUND');
  });

  it('logs every API request with its outcome, but not the /_sandbox control routes', async () => {
    await post(sb, DELTA, delta(), { idempotencyKey: 'k1' });
    await call(sb, 'GET', '/api/v1/balance/delta/rec_1');
    await call(sb, 'GET', '/nowhere');
    await call(sb, 'GET', '/_sandbox/ledger');
    const { requests, counts } = sb.ledger();
    expect(requests.map(({ seq, method, path, idempotencyKey, status, outcome }) => ({ seq, method, path, idempotencyKey, status, outcome }))).toEqual([
      { seq: 1, method: 'POST', path: DELTA, idempotencyKey: 'k1', status: 201, outcome: 'committed' },
      { seq: 2, method: 'GET', path: '/api/v1/balance/delta/rec_1', idempotencyKey: null, status: 200, outcome: 'read' },
      { seq: 3, method: 'GET', path: '/nowhere', idempotencyKey: null, status: 404, outcome: 'not-found' },
    ]);
    expect(requests[0]!.customerId).toBe('cust_1');
    expect(counts).toMatchObject({ requests: 3, committed: 1, faults: 0 });
  });
});
