import { DeltaValidationError } from '../errors.js';
import { DELTA_LIMITS, assertCustomerId, assertDelta, assertMetadata, assertReason, assertReferenceId, customerIdOf, referenceIdWithin, serializeDelta, thenableError, type DeltaFields } from './validation.js';

/** The field a refusal names, or undefined when `fn` accepted (returned without throwing). */
function fieldOf(fn: () => void): string | undefined {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) return undefined;
  expect(thrown).toBeInstanceOf(DeltaValidationError);
  return (thrown as DeltaValidationError).field;
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

  describe('metadata depth', () => {
    const base = { customerId: 'c', delta: 1, reason: 'r', referenceId: 'x' };
    /** Metadata `levels` deep: the object itself is level 1; arrays count as levels too. */
    const nested = (levels: number, array = false): Record<string, unknown> => {
      let value: unknown = 'leaf';
      for (let i = 1; i < levels; i++) value = array ? [value] : { a: value };
      return { a: value };
    };

    it(`accepts ${DELTA_LIMITS.maxMetadataDepth} levels of objects or arrays`, () => {
      expect(DELTA_LIMITS.maxMetadataDepth).toBe(32);
      expect(fieldOf(() => serializeDelta({ ...base, metadata: nested(32) }))).toBeUndefined();
      expect(fieldOf(() => serializeDelta({ ...base, metadata: nested(32, true) }))).toBeUndefined();
    });

    it('refuses one level more, and 3,000 levels, naming metadata', () => {
      for (const metadata of [nested(33), nested(33, true), nested(3_000)]) {
        let error: unknown;
        try {
          serializeDelta({ ...base, metadata });
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(DeltaValidationError);
        expect(error).toMatchObject({ field: 'metadata', message: 'metadata: must not nest objects and arrays more than 32 levels deep (the metadata object is level 1)' });
      }
    });

    it('counts what a toJSON returns, and never brackets inside strings', () => {
      const deep = { toJSON: () => nested(40) };
      expect(fieldOf(() => serializeDelta({ ...base, metadata: { report: deep } }))).toBe('metadata');
      const text = `${'{['.repeat(500)}"\\${']}'.repeat(500)}`;
      expect(fieldOf(() => serializeDelta({ ...base, reason: '{'.repeat(100), metadata: { text, quoted: '"{[', wide: Array.from({ length: 100 }, () => ({})) } }))).toBeUndefined();
    });
  });

  it('turns a safe-integer customerId into its decimal string, and leaves anything else to be refused', () => {
    expect(customerIdOf(12345)).toBe('12345');
    expect(customerIdOf(-7)).toBe('-7');
    expect(customerIdOf('acme')).toBe('acme');
    for (const unsafe of [2 ** 53, 1.5, Number.NaN, Infinity]) expect(customerIdOf(unsafe)).toBe(unsafe);
  });

  it('refuses a Promise or any thenable a resolver returns, handling its rejection', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const custom = { then: (_ok: unknown, fail: (e: Error) => void) => fail(new Error('custom thenable')) };
      const throwingThen = Object.defineProperty({}, 'then', { get: () => { throw new Error('hostile'); } });
      expect(thenableError(Promise.reject(new Error('lookup failed')), 'customerId')).toMatchObject({ field: 'customerId', message: expect.stringMatching(/returned a Promise/) });
      expect(thenableError(custom, 'delta')).toMatchObject({ field: 'delta' });
      expect(thenableError(throwingThen, 'metadata')).toMatchObject({ field: 'metadata', message: expect.stringMatching(/could not be read \(hostile\)/) });
      for (const value of ['acme', 5, null, undefined, { a: 1 }, { then: 'not a function' }]) expect(thenableError(value, 'customerId')).toBeUndefined();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('never echoes a long value into the message', () => {
    let thrown: unknown;
    try {
      assertReason('secret'.repeat(200));
    } catch (err) {
      thrown = err;
    }
    // Outside the catch: a refusal that stopped happening fails here instead of passing silently.
    expect(thrown).toBeInstanceOf(DeltaValidationError);
    expect((thrown as Error).message).toContain('1200 characters');
    expect((thrown as Error).message).not.toContain('secretsecret');
  });
});

describe('serializeDelta', () => {
  it.each([
    [{ customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'api:api_request:acme:r1' }],
    [{ customerId: 'a.b:c_d-e', delta: 0.1 + 0.2, reason: 'quotes " and \\ and \n and \u2028 and 😀 and \ud800', referenceId: 'x~y:z', metadata: { route: '/v1/:id', nested: { list: [1, 'two', null, true] } } }],
    [{ customerId: 'acme', delta: 1e21, reason: 'r', referenceId: 'r', metadata: {} }],
    [{ customerId: 'acme', delta: -42.5, reason: 'r', referenceId: 'r', metadata: { toJSON: () => undefined } as Record<string, unknown> }],
  ])('writes the same bytes as JSON.stringify of the body (%#)', (fields) => {
    expect(serializeDelta(fields)).toBe(JSON.stringify({ customerId: fields.customerId, delta: fields.delta, reason: fields.reason, referenceId: fields.referenceId, metadata: fields.metadata }));
  });
});

describe('referenceIdWithin', () => {
  it('finds the referenceId where serializeDelta put it, for any reason, delta and metadata', () => {
    const cases: DeltaFields[] = [
      { customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'api:api_request:acme:f3b2c1d0-1234-4abc-8def-0123456789ab' },
      { customerId: 'c:1.x', delta: 0.25, reason: 'quote " and \\ and ü and \n', referenceId: 'r~x~0123456789abcdef' },
      { customerId: 'b', delta: 1e9, reason: 'r', referenceId: 'short', metadata: { referenceId: 'short', nested: { a: [1] } } },
      { customerId: 'b', delta: -123.5e-7, reason: '😀', referenceId: 'scope:op:b:req' },
    ];
    for (const fields of cases) {
      const body = serializeDelta(fields);
      const found = referenceIdWithin(body, fields);
      expect(found).toBe(fields.referenceId);
      expect(JSON.parse(body).referenceId).toBe(found);
    }
  });

  it('answers the referenceId itself when the body does not hold it in place', () => {
    const fields = { customerId: 'acme', delta: -1, reason: 'r', referenceId: 'the-id' };
    expect(referenceIdWithin('{"something":"else entirely, long enough"}', fields)).toBe('the-id');
  });
});
