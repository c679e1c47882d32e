// Issue 20, item 12: one referenceId limit, 255 characters, the longest Idempotency-Key PacSpace
// (and the sandbox) takes: the single endpoint sends the referenceId as the key. A longer given id
// is refused at intake naming `referenceId`; a built one never passes it. Delivered one by one to
// the sandbox over real sockets.
import { createMeter, DeltaValidationError, silentLogger, type DropEvent } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';

describe('referenceIds of at most 255 characters', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  beforeEach(() => sandbox.reset());
  afterAll(() => sandbox.close());

  it('refuses a given referenceId over 255 characters at intake, naming referenceId; 255 is delivered', async () => {
    const drops: DropEvent[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, delivery: 'single', logger: silentLogger, onDrop: (d) => drops.push(d) });
    const tooLong = meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'r'.repeat(256) });
    if (tooLong.accepted) throw new Error('a 256-character referenceId was accepted');
    expect(tooLong.reason).toBe('invalid');
    const error = tooLong.error as DeltaValidationError;
    expect(error).toBeInstanceOf(DeltaValidationError);
    expect(error.field).toBe('referenceId');
    expect(error.message).toMatch(/^referenceId: must be 1-255 characters/);

    expect(meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'k'.repeat(255) })).toMatchObject({ accepted: true });
    expect(await meter.flush({ timeoutMs: 30_000 })).toMatchObject({ delivered: 1, dropped: 0 });
    expect(sandbox.ledger().deltas.map((d) => d.referenceId)).toEqual(['k'.repeat(255)]);
    expect(drops.map((d) => d.reason)).toEqual(['invalid']);
    await meter.close();
  });

  it.each(['single', 'batch'] as const)('builds ids of at most 255 characters from four 64-character parts, delivered once each (delivery: %s)', async (delivery) => {
    const scope = 's'.repeat(64);
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope, delivery, logger: silentLogger });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const result = meter.enqueue({ customerId: 'c'.repeat(64), delta: -1, reason: 'o'.repeat(64), requestId: `${i}`.padStart(64, 'r') });
      if (!result.accepted) throw result.error;
      ids.push(result.referenceId);
    }
    expect(Math.max(...ids.map((id) => id.length))).toBeLessThanOrEqual(255);
    expect(new Set(ids).size).toBe(5);
    expect(await meter.flush({ timeoutMs: 30_000 })).toMatchObject({ delivered: 5, dropped: 0 });
    expect(duplicateReferenceIds(sandbox.ledger())).toEqual([]);
    expect(sandbox.ledger().deltas.map((d) => d.referenceId).sort()).toEqual([...ids].sort());
    await meter.close();
  });
});
