import { DeltaValidationError } from './errors.js';
import { assertCustomerId, assertDelta, assertMetadata, assertReason, assertReferenceId, serializeDelta } from './validation.js';

function fieldOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DeltaValidationError);
    return (err as DeltaValidationError).field;
  }
  return undefined;
}

describe('delta validation', () => {
  it('accepts what PacSpace documents', () => {
    expect(fieldOf(() => assertCustomerId('cust_1.a:b-c'))).toBeUndefined();
    expect(fieldOf(() => assertDelta(-42.5))).toBeUndefined();
    expect(fieldOf(() => assertDelta(1e9))).toBeUndefined();
    expect(fieldOf(() => assertReason('r'.repeat(500)))).toBeUndefined();
    expect(fieldOf(() => assertMetadata({ a: 1, nested: { b: [1, 2] } }))).toBeUndefined();
    expect(fieldOf(() => assertMetadata(undefined))).toBeUndefined();
  });

  it.each([
    ['customerId', () => assertCustomerId('has space')],
    ['customerId', () => assertCustomerId('c'.repeat(129))],
    ['customerId', () => assertCustomerId(undefined)],
    ['delta', () => assertDelta(0)],
    ['delta', () => assertDelta(Number.NaN)],
    ['delta', () => assertDelta(Infinity)],
    ['delta', () => assertDelta(1e9 + 1)],
    ['delta', () => assertDelta('5')],
    ['reason', () => assertReason('r'.repeat(600))],
    ['reason', () => assertReason('')],
    ['referenceId', () => assertReferenceId('has space')],
    ['metadata', () => assertMetadata([1, 2])],
    ['metadata', () => assertMetadata(new Map())],
    ['metadata', () => assertMetadata('text')],
  ])('refuses a bad %s, naming the field', (field, fn) => {
    expect(fieldOf(fn)).toBe(field);
  });

  it('refuses metadata that cannot be serialized, naming the field', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const base = { customerId: 'c', delta: 1, reason: 'r', referenceId: 'x' };
    expect(fieldOf(() => serializeDelta({ ...base, metadata: circular }))).toBe('metadata');
    expect(fieldOf(() => serializeDelta({ ...base, metadata: { n: 10n } }))).toBe('metadata');
  });

  it('never echoes a long value into the message', () => {
    try {
      assertReason('secret'.repeat(200));
    } catch (err) {
      expect((err as Error).message).not.toContain('secretsecret');
      expect((err as Error).message).toContain('1200 characters');
    }
  });
});
