import { startSandbox, type Sandbox } from './index.js';
import { BATCH, CHECKPOINT, DELTA, delta, post } from './test-helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(() => sb.close());
beforeEach(() => {
  sb.setFaults({});
  sb.reset();
});

describe('Idempotency-Key', () => {
  it('processes a new key, then replays the original status and body for the same body', async () => {
    const first = await post(sb, DELTA, delta({ referenceId: 'r1', metadata: { a: 1, b: [1, 2] } }), { idempotencyKey: 'key-1' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.json.data.idempotent).toBeUndefined();

    // Same content, different key order: canonical JSON makes it the same body.
    const same = { metadata: { b: [1, 2], a: 1 }, referenceId: 'r1', reason: 'api_call', delta: 1, customerId: 'cust_1' };
    const replay = await post(sb, DELTA, same, { idempotencyKey: 'key-1' });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual({ ...first.json, data: { ...first.json.data, idempotent: true } });

    const { deltas, counts, requests } = sb.ledger();
    expect(deltas).toHaveLength(1);
    expect(deltas[0]!.idempotencyKey).toBe('key-1');
    expect(counts).toMatchObject({ committed: 1, replayed: 1 });
    expect(requests.map((r) => r.outcome)).toEqual(['committed', 'replayed']);
  });

  it('answers 409 IDEMPOTENCY_CONFLICT for the same key with a different body', async () => {
    await post(sb, DELTA, delta({ delta: 1 }), { idempotencyKey: 'key-2' });
    const res = await post(sb, DELTA, delta({ delta: 2 }), { idempotencyKey: 'key-2' });
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ success: false, statusCode: 409, error: { code: 'IDEMPOTENCY_CONFLICT' } });
    expect(sb.ledger().deltas).toHaveLength(1);
    expect(sb.ledger().counts.conflicts).toBe(1);
  });

  it('answers 202 IDEMPOTENCY_PENDING to a duplicate that arrives while the first is still processing', async () => {
    sb.setFaults({ latencyMs: 1000 }); // ample time for the duplicate to arrive mid-flight
    const body = delta({ referenceId: 'slow' });
    const finished: number[] = [];
    const send = () => post(sb, DELTA, body, { idempotencyKey: 'key-3' }).then((r) => (finished.push(r.status), r));
    const [a, b] = await Promise.all([send(), send()]);
    // Whichever arrived first reserved the key; the other saw it in flight and was answered
    // straight from the idempotency store, before the slow one finished.
    expect(finished).toEqual([202, 201]);
    const pending = a.status === 202 ? a : b;
    expect(pending.json).toEqual({
      success: false,
      statusCode: 202,
      code: 'IDEMPOTENCY_PENDING',
      retryAfterSeconds: 1,
      message: expect.any(String),
    });
    expect(sb.ledger().deltas).toHaveLength(1);
    expect(sb.ledger().counts.pending).toBe(1);

    const after = await post(sb, DELTA, body, { idempotencyKey: 'key-3' });
    expect(after.status).toBe(201);
    expect(after.json.data.idempotent).toBe(true);
  });

  it('serves replays from the store even while faults are set', async () => {
    const first = await post(sb, DELTA, delta(), { idempotencyKey: 'key-6' });
    sb.setFaults({ serverError: { rate: 1 }, resetBeforeProcessing: { rate: 1 }, latencyMs: 10 });
    const replay = await post(sb, DELTA, delta(), { idempotencyKey: 'key-6' });
    expect(replay.status).toBe(201);
    expect(replay.json.data).toEqual({ ...first.json.data, idempotent: true });
    expect((await post(sb, DELTA, delta(), { idempotencyKey: 'key-7' })).status).toBeGreaterThanOrEqual(500);
  });

  it('does not burn a key on a validation failure or a fault before commit', async () => {
    const invalid = await post(sb, DELTA, delta({ delta: 0 }), { idempotencyKey: 'key-4' });
    expect(invalid.status).toBe(400);
    sb.setFaults({ serverError: { requests: [1] } });
    const failed = await post(sb, DELTA, delta({ delta: 5 }), { idempotencyKey: 'key-4' });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const ok = await post(sb, DELTA, delta({ delta: 5 }), { idempotencyKey: 'key-4' });
    expect(ok.status).toBe(201);
    expect(ok.json.data.idempotent).toBeUndefined();
    expect(sb.ledger().deltas.map((d) => d.delta)).toEqual([5]);
  });

  it('without the header, identical requests are each committed', async () => {
    await post(sb, DELTA, delta({ referenceId: 'dup' }));
    await post(sb, DELTA, delta({ referenceId: 'dup' }));
    expect(sb.ledger().deltas).toHaveLength(2);
  });

  it('scopes keys per endpoint', async () => {
    expect((await post(sb, DELTA, delta(), { idempotencyKey: 'shared' })).status).toBe(201);
    const batch = await post(sb, BATCH, { deltas: [delta({ customerId: 'c2' })] }, { idempotencyKey: 'shared' });
    expect(batch.status).toBe(201);
    expect(batch.json.data.totalQueued).toBe(1);
    const checkpoint = await post(sb, CHECKPOINT, {}, { idempotencyKey: 'shared' });
    expect(checkpoint.status).toBe(201);
    expect(sb.ledger().deltas).toHaveLength(2);
  });

  it('rejects an Idempotency-Key longer than 255 characters', async () => {
    const res = await post(sb, DELTA, delta(), { idempotencyKey: 'k'.repeat(256) });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'Idempotency-Key' });
  });

  it('replays a whole batch under a batch-level key', async () => {
    const body = { deltas: [delta({ referenceId: 'b1' }), delta({ referenceId: 'b2', delta: 2 })] };
    const first = await post(sb, BATCH, body, { idempotencyKey: 'batch-1' });
    const again = await post(sb, BATCH, body, { idempotencyKey: 'batch-1' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.data).toEqual({ ...first.json.data, idempotent: true });
    const conflict = await post(sb, BATCH, { deltas: [delta()] }, { idempotencyKey: 'batch-1' });
    expect(conflict.status).toBe(409);
    expect(sb.ledger().deltas.map((d) => d.idempotencyKey)).toEqual(['batch-1', 'batch-1']);
  });

  it('forgets keys on reset()', async () => {
    await post(sb, DELTA, delta(), { idempotencyKey: 'key-5' });
    sb.reset();
    const res = await post(sb, DELTA, delta({ delta: 9 }), { idempotencyKey: 'key-5' });
    expect(res.status).toBe(201);
    expect(res.json.data).toMatchObject({ recordId: 'rec_1', delta: 9 });
  });
});

describe('singleDeltaDedupe', () => {
  it("commits the same referenceId again under another key by default, as PacSpace documents only key replays", async () => {
    await post(sb, DELTA, delta({ referenceId: 'same-ref' }), { idempotencyKey: 'key-a' });
    const second = await post(sb, DELTA, delta({ referenceId: 'same-ref' }), { idempotencyKey: 'key-b' });
    expect(second.status).toBe(201);
    expect(second.json.data.idempotent).toBeUndefined();
    expect(sb.ledger().deltas.map((d) => d.referenceId)).toEqual(['same-ref', 'same-ref']);
  });

  it("with 'reference-id', answers a committed referenceId as a replay under any key, and 409 for other content", async () => {
    const byRef = await startSandbox({ singleDeltaDedupe: 'reference-id' });
    try {
      const first = await post(byRef, DELTA, delta({ referenceId: 'same-ref' }), { idempotencyKey: 'key-a' });
      const again = await post(byRef, DELTA, delta({ referenceId: 'same-ref' }), { idempotencyKey: 'key-b' });
      const keyless = await post(byRef, DELTA, delta({ referenceId: 'same-ref' }));
      const changed = await post(byRef, DELTA, delta({ referenceId: 'same-ref', delta: 7 }), { idempotencyKey: 'key-c' });
      expect([first.status, again.status, keyless.status, changed.status]).toEqual([201, 201, 201, 409]);
      expect(again.json.data).toMatchObject({ recordId: first.json.data.recordId, idempotent: true });
      expect(keyless.json.data.idempotent).toBe(true);
      expect(changed.json).toMatchObject({ error: { code: 'IDEMPOTENCY_CONFLICT' } });
      expect(byRef.ledger().deltas).toHaveLength(1);
      expect(byRef.ledger().requests.map((r) => r.outcome)).toEqual(['committed', 'replayed', 'replayed', 'conflict']);
    } finally {
      await byRef.close();
    }
  });

  it('refuses any other value, naming the option', async () => {
    await expect(startSandbox({ singleDeltaDedupe: 'body' as never })).rejects.toThrow(/singleDeltaDedupe/);
  });
});
