import { duplicateReferenceIds, startSandbox, SandboxConfigError, validateFaults, type FaultConfig, type Sandbox } from './index.js';
import { BATCH, CHECKPOINT, DELTA, call, delta, post, rawPost } from './test-helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(() => sb.close());
beforeEach(() => {
  sb.setFaults({});
  sb.reset();
});

/** Status of each of `n` sequential single-delta writes. */
async function statuses(target: Sandbox, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await post(target, DELTA, delta({ referenceId: `s${i}` }))).status);
  return out;
}

describe('serverError', () => {
  it('answers a 5xx before processing, with Retry-After when configured, and commits nothing', async () => {
    sb.setFaults({ serverError: { requests: [1], statuses: [503], retryAfterSeconds: 2 } });
    const res = await post(sb, DELTA, delta());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.json).toMatchObject({ success: false, statusCode: 503, error: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 } });
    expect(sb.ledger().deltas).toHaveLength(0);
    expect(sb.ledger().requests[0]).toMatchObject({ status: 503, outcome: 'fault:server-error' });
    expect((await post(sb, DELTA, delta())).status).toBe(201);
  });

  it('fires on every Nth write request, picking from the default 500/502/503/504', async () => {
    sb.setFaults({ serverError: { every: 2 } });
    const got = await statuses(sb, 6);
    expect(got.filter((_, i) => i % 2 === 0)).toEqual([201, 201, 201]);
    for (const s of got.filter((_, i) => i % 2 === 1)) expect([500, 502, 503, 504]).toContain(s);
    expect(sb.ledger().counts).toMatchObject({ committed: 3, faults: 3 });
  });

  it('applies only to the three write endpoints', async () => {
    sb.setFaults({ serverError: { rate: 1 } });
    expect((await call(sb, 'GET', '/api/v1/balance/derive/cust_1')).status).toBe(200);
    expect((await post(sb, BATCH, { deltas: [delta()] })).status).toBeGreaterThanOrEqual(500);
    expect((await post(sb, CHECKPOINT, {})).status).toBeGreaterThanOrEqual(500);
  });
});

describe('rateLimit', () => {
  it('answers 429 RATE_LIMITED with Retry-After header and error.retryAfterSeconds', async () => {
    sb.setFaults({ rateLimit: { requests: [2], retryAfterSeconds: 7 } });
    expect((await post(sb, DELTA, delta())).status).toBe(201);
    const res = await post(sb, DELTA, delta());
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.json).toMatchObject({ success: false, statusCode: 429, error: { code: 'RATE_LIMITED', retryAfterSeconds: 7 } });
    expect((await post(sb, DELTA, delta())).status).toBe(201);
    expect(sb.ledger().requests.map((r) => r.outcome)).toEqual(['committed', 'fault:rate-limit', 'committed']);
  });
});

describe('cadenceLimit', () => {
  it('answers 429 CADENCE_LIMIT only for the named customer, on every write while set', async () => {
    sb.setFaults({ cadenceLimit: { customerId: 'cust_slow', retryAfterSeconds: 120 } });
    for (let i = 0; i < 2; i++) {
      const res = await post(sb, DELTA, delta({ customerId: 'cust_slow' }));
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('120');
      expect(res.json.error).toEqual({ code: 'CADENCE_LIMIT', message: expect.any(String), retryAfterSeconds: 120, customerId: 'cust_slow' });
    }
    expect((await post(sb, DELTA, delta({ customerId: 'cust_fast' }))).status).toBe(201);
    expect(sb.ledger().deltas.map((d) => d.customerId)).toEqual(['cust_fast']);
    expect(sb.ledger().requests.map((r) => r.outcome)).toEqual(['fault:cadence-limit', 'fault:cadence-limit', 'committed']);
  });

  it('fails only that customer’s items inside a batch', async () => {
    sb.setFaults({ cadenceLimit: { customerId: 'cust_slow', retryAfterSeconds: 60 } });
    const res = await post(sb, BATCH, { deltas: [delta({ customerId: 'cust_slow' }), delta({ customerId: 'cust_fast' })] });
    expect(res.status).toBe(201);
    expect(res.json.data.totalFailed).toBe(1);
    expect(res.json.data.results[0]).toMatchObject({ index: 0, status: 'FAILED', error: 'CADENCE_LIMIT', customerId: 'cust_slow' });
    expect(res.json.data.results[1]).toMatchObject({ index: 1, status: 'QUEUED', customerId: 'cust_fast' });
  });
});

describe('resetBeforeProcessing', () => {
  it('resets the connection before anything is committed, and does not burn the key', async () => {
    sb.setFaults({ resetBeforeProcessing: { requests: [1] } });
    const res = await rawPost(sb, DELTA, delta({ referenceId: 'r1' }), { 'idempotency-key': 'k-reset' });
    expect(res).toEqual({ kind: 'dropped', code: 'ECONNRESET' });
    expect(sb.ledger().deltas).toHaveLength(0);
    expect(sb.ledger().requests[0]).toMatchObject({ status: 0, outcome: 'fault:reset', idempotencyKey: 'k-reset' });

    const retry = await post(sb, DELTA, delta({ referenceId: 'r1' }), { idempotencyKey: 'k-reset' });
    expect(retry.status).toBe(201);
    expect(retry.json.data.idempotent).toBeUndefined();
    expect(sb.ledger().deltas).toHaveLength(1);
  });
});

describe('commitThenDrop', () => {
  it('commits, drops the socket without a response, and replays the commit to a retry with the same key', async () => {
    sb.setFaults({ commitThenDrop: { requests: [1] } });
    const dropped = await rawPost(sb, DELTA, delta({ referenceId: 'ref-drop' }), { 'idempotency-key': 'k-drop' });
    expect(dropped.kind).toBe('dropped');
    expect(dropped).toMatchObject({ code: 'ECONNRESET' }); // node reports the hang-up as ECONNRESET

    let ledger = sb.ledger();
    expect(ledger.deltas).toHaveLength(1);
    expect(ledger.deltas[0]).toMatchObject({ referenceId: 'ref-drop', idempotencyKey: 'k-drop' });
    expect(ledger.requests[0]).toMatchObject({ status: 0, outcome: 'fault:commit-drop' });
    expect(ledger.counts).toMatchObject({ committed: 1, faults: 1 });

    const retry = await post(sb, DELTA, delta({ referenceId: 'ref-drop' }), { idempotencyKey: 'k-drop' });
    expect(retry.status).toBe(201);
    expect(retry.json.data).toMatchObject({ recordId: ledger.deltas[0]!.recordId, idempotent: true });
    ledger = sb.ledger();
    expect(ledger.deltas).toHaveLength(1);
    expect(duplicateReferenceIds(ledger)).toEqual([]);
  });

  it('shows why keys matter: a retry without one commits twice', async () => {
    sb.setFaults({ commitThenDrop: { requests: [1] } });
    expect((await rawPost(sb, DELTA, delta({ referenceId: 'ref-x' }))).kind).toBe('dropped');
    expect((await post(sb, DELTA, delta({ referenceId: 'ref-x' }))).status).toBe(201);
    expect(duplicateReferenceIds(sb.ledger())).toEqual(['ref-x']);
  });

  it('also drops after committing a batch', async () => {
    sb.setFaults({ commitThenDrop: { rate: 1 } });
    const res = await rawPost(sb, BATCH, { deltas: [delta(), delta({ delta: 2 })] });
    expect(res.kind).toBe('dropped');
    expect(sb.ledger().deltas.map((d) => d.delta)).toEqual([1, 2]);
  });
});

describe('determinism', () => {
  const faults: FaultConfig = {
    serverError: { rate: 0.3 },
    rateLimit: { rate: 0.2, retryAfterSeconds: 1 },
    latencyMs: { min: 0, max: 2 },
  };

  it('gives the same faults for the same seed and request sequence', async () => {
    const a = await startSandbox({ seed: 42, faults });
    const b = await startSandbox({ seed: 42, faults });
    const c = await startSandbox({ seed: 7, faults });
    try {
      const runA = await statuses(a, 40);
      expect(await statuses(b, 40)).toEqual(runA);
      expect(await statuses(c, 40)).not.toEqual(runA);
      // The mix really contains each kind of answer.
      expect(runA).toContain(201);
      expect(runA).toContain(429);
      expect(runA.some((s) => s >= 500)).toBe(true);
      // reset() restarts numbering and the PRNG: the same run again.
      a.reset();
      expect(await statuses(a, 40)).toEqual(runA);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});

describe('configuring faults', () => {
  it('replaces faults over HTTP with PUT /_sandbox/faults', async () => {
    const put = await call(sb, 'PUT', '/_sandbox/faults', { body: { rateLimit: { every: 1, retryAfterSeconds: 3 } } });
    expect(put.status).toBe(200);
    expect(put.json.data.faults).toEqual({ rateLimit: { every: 1, retryAfterSeconds: 3 } });
    expect((await post(sb, DELTA, delta())).status).toBe(429);
    const bad = await call(sb, 'PUT', '/_sandbox/faults', { body: { rateLimit: { rate: 2, retryAfterSeconds: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'faults.rateLimit.rate' });
    expect((await call(sb, 'PUT', '/_sandbox/faults', { body: {} })).status).toBe(200);
    expect((await post(sb, DELTA, delta())).status).toBe(201);
  });

  it('keeps faults across reset()', async () => {
    sb.setFaults({ serverError: { rate: 1, statuses: [502] } });
    sb.reset();
    expect((await post(sb, DELTA, delta())).status).toBe(502);
  });

  const bad: [string, unknown, string][] = [
    ['a non-object', 5, 'faults'],
    ['an unknown fault', { serverErr: { rate: 1 } }, 'faults.serverErr'],
    ['rate above 1', { serverError: { rate: 1.5 } }, 'faults.serverError.rate'],
    ['every of 0', { commitThenDrop: { every: 0 } }, 'faults.commitThenDrop.every'],
    ['requests with 0', { resetBeforeProcessing: { requests: [0] } }, 'faults.resetBeforeProcessing.requests'],
    ['no trigger', { resetBeforeProcessing: {} }, 'faults.resetBeforeProcessing'],
    ['a 4xx status', { serverError: { rate: 1, statuses: [404] } }, 'faults.serverError.statuses'],
    ['rateLimit without retryAfterSeconds', { rateLimit: { rate: 1 } }, 'faults.rateLimit.retryAfterSeconds'],
    ['a bad cadence customer', { cadenceLimit: { customerId: 'a b', retryAfterSeconds: 1 } }, 'faults.cadenceLimit.customerId'],
    ['negative latency', { latencyMs: -1 }, 'faults.latencyMs'],
    ['latency max below min', { latencyMs: { min: 5, max: 1 } }, 'faults.latencyMs.max'],
  ];
  it.each(bad)('rejects %s with a TypeError naming the field', (_name, config, field) => {
    for (const attempt of [() => validateFaults(config), () => sb.setFaults(config as FaultConfig)]) {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toBeInstanceOf(SandboxConfigError);
      expect((error as SandboxConfigError).field).toBe(field);
      expect((error as Error).message).toContain(field);
    }
  });

  it('rejects bad faults passed to startSandbox', async () => {
    await expect(startSandbox({ faults: { serverError: { rate: -1 } } })).rejects.toThrow(/faults\.serverError\.rate must be a number from 0 to 1/);
  });
});
