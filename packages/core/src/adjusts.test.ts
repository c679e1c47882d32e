import { createMeter } from './meter.js';
import { silentLogger } from './reporting/logger.js';
import { serializeDelta } from './intake/validation.js';

describe("a delta's adjusts (corrections)", () => {
  it('is frozen into the body as PacSpace reads it', () => {
    const body = serializeDelta({ customerId: 'acme', delta: 5, reason: 'correction', referenceId: 'a:b~reversal', adjusts: { referenceId: 'a:b' }, metadata: { n: 1 } });
    expect(JSON.parse(body)).toEqual({ customerId: 'acme', delta: 5, reason: 'correction', referenceId: 'a:b~reversal', adjusts: { referenceId: 'a:b' }, metadata: { n: 1 } });
    expect(JSON.parse(serializeDelta({ customerId: 'acme', delta: 1, reason: 'r', referenceId: 'x', adjusts: { recordId: 'rec_7' } })).adjusts).toEqual({ recordId: 'rec_7' });
  });

  it.each([
    [{ id: 'x' }, 'adjusts'],
    [{ referenceId: 'x', recordId: 'y' }, 'adjusts'],
    [{ referenceId: 'has space' }, 'adjusts.referenceId'],
    [{ recordId: '' }, 'adjusts.recordId'],
    ['x', 'adjusts'],
  ])('is refused naming the field when it is %j', async (adjusts, field) => {
    const meter = createMeter({ enabled: false, logger: silentLogger });
    const result = meter.enqueue({ customerId: 'acme', delta: 1, reason: 'correction', adjusts: adjusts as never });
    expect(result).toMatchObject({ accepted: false, reason: 'invalid', error: { field } });
    await meter.close();
  });

  it('a correction is refused rather than folded into an overflow sum when the queue is full', async () => {
    const meter = createMeter({ enabled: false, logger: silentLogger, maxQueueSize: 1, flushIntervalMs: 60_000 });
    meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r' });
    expect(meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r' })).toMatchObject({ accepted: true, folded: true });
    expect(meter.enqueue({ customerId: 'acme', delta: 1, reason: 'correction', adjusts: { referenceId: 'x' } })).toMatchObject({ accepted: false, reason: 'queue_full' });
    await meter.close();
  });
});
