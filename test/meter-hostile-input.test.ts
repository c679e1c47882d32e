// Issue #13, items 5 and 8: enqueue() never throws, whatever it is handed, and every refusal of
// bad input reaches onDrop and onError (a delta over maxDeltaBytes included).
import { createMeter, DeltaDroppedError, DeltaValidationError, type DropEvent } from '@pacspace-metering/core';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';

const throwing = (): never => {
  throw new Error('hostile getter');
};

/** Inputs built to make a careless reader throw: traps, getters, a throwing toJSON. */
function hostileInputs(): Array<[string, unknown]> {
  const trapAll = new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getPrototypeOf: throwing, getOwnPropertyDescriptor: throwing });
  const getters = Object.defineProperties({}, { customerId: { get: throwing, enumerable: true }, delta: { get: throwing, enumerable: true }, reason: { get: throwing, enumerable: true } });
  const trappedMetadata = { customerId: 'acme', delta: -1, reason: 'r', metadata: new Proxy({}, { getPrototypeOf: throwing, ownKeys: throwing, get: throwing }) };
  const toJsonThrows = { customerId: 'acme', delta: -1, reason: 'r', metadata: { toJSON: throwing } };
  const referenceIdGetter = Object.defineProperty({ customerId: 'acme', delta: -1, reason: 'r' }, 'referenceId', { get: throwing, enumerable: true });
  return [
    ['a Proxy whose every trap throws', trapAll],
    ['throwing getters on the fields', getters],
    ['metadata that is a Proxy whose traps throw', trappedMetadata],
    ['metadata whose toJSON throws', toJsonThrows],
    ['a throwing referenceId getter', referenceIdGetter],
  ];
}

describe('Meter intake: hostile input', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  it.each(hostileInputs())('%s is refused as invalid, counted and reported, never thrown', async (_name, input) => {
    const drops: DropEvent[] = [];
    const errors: Error[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, onDrop: (d) => drops.push(d), onError: (e) => errors.push(e) });
    let result: ReturnType<typeof meter.enqueue> | undefined;
    expect(() => (result = meter.enqueue(input as never))).not.toThrow();
    expect(result).toMatchObject({ accepted: false, reason: 'invalid' });
    expect(result!.accepted === false && result!.error).toBeInstanceOf(DeltaValidationError);
    await expect(meter.emit(input as never)).rejects.toBeInstanceOf(DeltaValidationError);
    expect(drops.map((d) => d.reason)).toEqual(['invalid', 'invalid']);
    expect(errors).toHaveLength(2);
    expect(meter.stats().dropped).toEqual({ invalid: 2 });
    await meter.close();
  });

  it('reports a delta over maxDeltaBytes through onError as well as onDrop', async () => {
    const drops: DropEvent[] = [];
    const errors: Error[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, maxDeltaBytes: 256, onDrop: (d) => drops.push(d), onError: (e) => errors.push(e) });
    const result = meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', metadata: { blob: 'x'.repeat(500) } });
    expect(result).toMatchObject({ accepted: false, reason: 'too_large' });
    expect(drops).toMatchObject([{ reason: 'too_large', customerId: 'acme' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DeltaDroppedError);
    await meter.close();
  });
});
