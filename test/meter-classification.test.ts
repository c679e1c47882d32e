import { createMeter, createPacSpaceClient, DeltaDroppedError, IdempotencyConflictError, PacSpaceApiError, type DropEvent } from '@pacspace-metering/core';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { waitFor } from './support/wait.js';

const writes = (sandbox: Sandbox) => sandbox.ledger().requests.filter((r) => r.method === 'POST');

describe('Meter -> sandbox: what is retried and what is not', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 7 });
  });
  beforeEach(() => {
    sandbox.reset();
    sandbox.setFaults({});
  });
  afterAll(() => sandbox.close());

  it('never retries a 409 and reports it through onError as an integrity error', async () => {
    const errors: Error[] = [];
    const drops: DropEvent[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, retryBaseDelayMs: 5, onError: (e) => errors.push(e), onDrop: (d) => drops.push(d) });
    meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', referenceId: 'shared-ref' });
    await meter.flush();
    meter.enqueue({ customerId: 'acme', delta: -2, reason: 'r', referenceId: 'shared-ref' });
    await meter.flush();

    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(IdempotencyConflictError);
    expect((errors[0] as PacSpaceApiError).status).toBe(409);
    expect(drops).toMatchObject([{ reason: 'integrity', referenceId: 'shared-ref', attempts: 1 }]);
    expect(meter.stats()).toMatchObject({ delivered: 1, dropped: { integrity: 1 }, failed: { IDEMPOTENCY_CONFLICT: 1 } });
    expect(writes(sandbox)).toHaveLength(2);
    await expect(meter.emit({ customerId: 'acme', delta: -3, reason: 'r', referenceId: 'shared-ref' })).rejects.toBeInstanceOf(IdempotencyConflictError);
    await meter.close();
  });

  it('never retries a 400 or a 401 (a 401 counted as unauthorized)', async () => {
    const real = createPacSpaceClient({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
    // An SDK-shaped client that sends what the API refuses: a reason over 500 characters.
    const client = { balance: { emit: (c: string, d: number, r: string, o?: object) => real.balance.emit(c, d, r.padEnd(600, 'x'), o) } };
    const drops: DropEvent[] = [];
    const meter = createMeter({ client, retryBaseDelayMs: 5, onDrop: (d) => drops.push(d) });
    meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', requestId: 'bad-400' });
    await meter.flush();
    expect(drops).toMatchObject([{ reason: 'rejected', attempts: 1 }]);
    expect((drops[0]!.error as PacSpaceApiError).status).toBe(400);
    expect(writes(sandbox)).toHaveLength(1);

    const wrongKey = createMeter({ apiKey: 'pk_test_wrong.key', baseUrl: sandbox.url, retryBaseDelayMs: 5 });
    wrongKey.enqueue({ customerId: 'acme', delta: -1, reason: 'r', requestId: 'bad-401' });
    await wrongKey.flush();
    expect(wrongKey.stats()).toMatchObject({ dropped: { unauthorized: 1 }, failed: { INVALID_API_KEY: 1 } });
    expect(writes(sandbox)).toHaveLength(2);
    expect(sandbox.ledger().deltas).toHaveLength(0);
    await Promise.all([meter.close(), wrongKey.close()]);
    real.close();
  });

  it('gives an SDK client that never answers attemptTimeoutMs per attempt, then drops with TIMEOUT', async () => {
    const calls: string[] = [];
    const client = { balance: { emit: (_c: string, _d: number, _r: string, o?: { referenceId?: string }) => { calls.push(o?.referenceId ?? ''); return new Promise(() => {}); } } };
    const drops: DropEvent[] = [];
    const meter = createMeter({ client, attemptTimeoutMs: 20, maxAttempts: 2, retryBaseDelayMs: 1, retryMaxDelayMs: 2, onDrop: (d) => drops.push(d) });
    meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', requestId: 'hangs-1' });
    meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', requestId: 'hangs-2' });
    const report = await meter.flush();
    expect(report).toMatchObject({ pending: 0, dropped: 2 });
    expect(drops.map((d) => [d.reason, d.attempts, (d.error as PacSpaceApiError).code])).toEqual([
      ['max_attempts', 2, 'TIMEOUT'],
      ['max_attempts', 2, 'TIMEOUT'],
    ]);
    expect(calls.sort()).toEqual(['metering:r:acme:hangs-1', 'metering:r:acme:hangs-1', 'metering:r:acme:hangs-2', 'metering:r:acme:hangs-2']);
    await meter.close();
  });

  it('retries a 202 "still in progress" until the replay arrives', async () => {
    // The first attempt outlives its 100 ms deadline; retries meet the key in flight (202), then the replay.
    sandbox.setFaults({ latencyMs: 400 });
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, attemptTimeoutMs: 100, retryBaseDelayMs: 40, retryMaxDelayMs: 80 });
    const receipt = await meter.emit({ customerId: 'acme', delta: -1, reason: 'slow', requestId: 'pending-1' });
    const outcomes = writes(sandbox).map((r) => r.outcome);
    expect(receipt.deduplicated).toBe(true);
    expect(outcomes).toContain('pending');
    expect(outcomes[outcomes.length - 1]).toBe('replayed');
    expect(sandbox.ledger().deltas).toHaveLength(1);
    await meter.close();
  });

  it('pauses only the customer named by CADENCE_LIMIT; the others keep flowing', async () => {
    sandbox.setFaults({ cadenceLimit: { customerId: 'busy', retryAfterSeconds: 2 } });
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, retryBaseDelayMs: 5 });
    for (let i = 0; i < 3; i++) meter.enqueue({ customerId: 'busy', delta: -1, reason: 'r', requestId: `busy-${i}` });
    for (let i = 0; i < 20; i++) meter.enqueue({ customerId: 'calm', delta: -1, reason: 'r', requestId: `calm-${i}` });
    // The meter has the answer (the sandbox commits before it answers, so its ledger alone is too early).
    await waitFor(() => meter.stats().delivered === 20, 'the other customer delivered');
    expect(sandbox.ledger().deltas).toHaveLength(20);
    expect(sandbox.ledger().deltas.every((d) => d.customerId === 'calm')).toBe(true);
    expect(Object.keys(meter.stats().pausedCustomers)).toEqual(['busy']);
    expect(meter.stats().pausedUntil).toBeNull();
    sandbox.setFaults({});
    const report = await meter.flush();
    expect(report.pending).toBe(0);
    expect(sandbox.ledger().deltas.filter((d) => d.customerId === 'busy')).toHaveLength(3);
    await meter.close();
  });

  it('gives up after maxAttempts with the last error, counted and reported', async () => {
    sandbox.setFaults({ serverError: { rate: 1, statuses: [500] } });
    const drops: DropEvent[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, maxAttempts: 3, retryBaseDelayMs: 1, retryMaxDelayMs: 2, onDrop: (d) => drops.push(d) });
    await expect(meter.emit({ customerId: 'acme', delta: -1, reason: 'r', requestId: 'doomed' })).rejects.toBeInstanceOf(DeltaDroppedError);
    expect(drops).toMatchObject([{ reason: 'max_attempts', attempts: 3 }]);
    expect(writes(sandbox)).toHaveLength(3);
    expect(meter.stats()).toMatchObject({ dropped: { max_attempts: 1 }, failed: { INTERNAL_ERROR: 1 }, retried: 2 });
    await meter.close();
  });

  it('keeps the API key out of every log line and error', async () => {
    const lines: string[] = [];
    const log = (obj: object, msg?: string) => lines.push(JSON.stringify({ obj, msg, err: String((obj as { err?: unknown }).err) }));
    const logger = { debug: log, info: log, warn: log, error: log };
    const errors: Error[] = [];
    const secret = 'pk_test_wrong.supersecretvalue';
    const meter = createMeter({ apiKey: secret, baseUrl: sandbox.url, logger, onError: (e) => errors.push(e), retryBaseDelayMs: 1 });
    meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r' });
    await meter.flush();
    const down = createMeter({ apiKey: secret, baseUrl: 'http://127.0.0.1:9', logger, onError: (e) => errors.push(e), maxAttempts: 2, retryBaseDelayMs: 1 });
    down.enqueue({ customerId: 'acme', delta: -1, reason: 'r' });
    await down.flush();
    expect(lines.length).toBeGreaterThan(2);
    expect(errors.length).toBe(2);
    const everything = lines.join('\n') + errors.map((e) => `${e.message} ${e.stack} ${JSON.stringify(e)}`).join('\n');
    expect(everything).not.toContain('supersecretvalue');
    await Promise.all([meter.close(), down.close()]);
  });
});
