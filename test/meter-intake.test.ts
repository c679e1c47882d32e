import { createMeter, DeltaValidationError, MeteringConfigError, type DropEvent, type ErrorContext } from '@pacspace-metering/core';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';

describe('Meter intake: bad input is refused, typed, counted and never sent', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  const circular: Record<string, unknown> = {};
  circular.self = circular;

  it.each([
    ['NaN delta', { customerId: 'acme', delta: Number.NaN, reason: 'r' }, 'delta'],
    ['infinite delta', { customerId: 'acme', delta: Number.POSITIVE_INFINITY, reason: 'r' }, 'delta'],
    ['out-of-range delta', { customerId: 'acme', delta: 2e9, reason: 'r' }, 'delta'],
    ['600-character reason', { customerId: 'acme', delta: -1, reason: 'r'.repeat(600) }, 'reason'],
    ['missing reason', { customerId: 'acme', delta: -1 }, 'reason'],
    ['customerId the API rejects', { customerId: 'acme corp/1', delta: -1, reason: 'r' }, 'customerId'],
    ['missing customerId', { delta: -1, reason: 'r' }, 'customerId'],
    ['metadata that cannot be serialized', { customerId: 'acme', delta: -1, reason: 'r', metadata: circular }, 'metadata'],
    ['metadata that is not an object', { customerId: 'acme', delta: -1, reason: 'r', metadata: [1] }, 'metadata'],
    ['a referenceId with spaces', { customerId: 'acme', delta: -1, reason: 'r', referenceId: 'a b' }, 'referenceId'],
    ['not an object at all', null, 'input'],
  ])('%s', async (_name, input, field) => {
    const drops: DropEvent[] = [];
    const errors: Array<[Error, ErrorContext]> = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, onDrop: (d) => drops.push(d), onError: (e, c) => errors.push([e, c]) });
    const result = meter.enqueue(input as never);
    expect(result.accepted).toBe(false);
    if (result.accepted) return;
    expect(result.reason).toBe('invalid');
    expect(result.error).toBeInstanceOf(DeltaValidationError);
    expect((result.error as DeltaValidationError).field).toBe(field);
    expect(result.error.message).toMatch(new RegExp(`^${field}: `));
    expect(drops).toMatchObject([{ reason: 'invalid' }]);
    expect(errors).toMatchObject([[expect.any(DeltaValidationError), { stage: 'intake' }]]);
    expect(meter.stats()).toMatchObject({ accepted: 0, dropped: { invalid: 1 } });
    await expect(meter.emit(input as never)).rejects.toBeInstanceOf(DeltaValidationError);
    await meter.flush();
    expect(sandbox.ledger().requests).toHaveLength(0);
  });

  it('encodes a hostile request id into a bounded, safe referenceId', async () => {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'api' });
    const result = meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', requestId: '<script>\r\n'.repeat(80) });
    expect(result.accepted).toBe(true);
    if (result.accepted) expect(result.referenceId).toMatch(/^api:r:acme:~[A-Za-z0-9_.-]*~[0-9a-f]{16}$/);
    await meter.flush();
    expect(sandbox.ledger().deltas).toHaveLength(1);
  });

  it('refuses a delta larger than maxDeltaBytes as too_large', () => {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, maxDeltaBytes: 512 });
    const result = meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r', metadata: { blob: 'x'.repeat(1000) } });
    expect(result).toMatchObject({ accepted: false, reason: 'too_large' });
    expect(meter.stats().dropped).toEqual({ too_large: 1 });
  });

  it('survives hooks and loggers that throw or reject', async () => {
    const boom = () => {
      throw new Error('hook bug');
    };
    const meter = createMeter({
      apiKey: sandbox.apiKey,
      baseUrl: sandbox.url,
      onDelivered: boom,
      onDrop: async () => Promise.reject(new Error('async hook bug')),
      onError: boom,
      logger: { debug: boom, info: boom, warn: boom, error: boom },
    });
    expect(meter.enqueue({ customerId: 'bad id', delta: -1, reason: 'r' }).accepted).toBe(false);
    expect(meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r' }).accepted).toBe(true);
    await meter.flush();
    expect(meter.stats()).toMatchObject({ delivered: 1, dropped: { invalid: 1 } });
  });

  it.each([
    [{ scope: 'has spaces' }, 'scope'],
    [{ maxQueueSize: 0 }, 'maxQueueSize'],
    [{ concurrency: 1.5 }, 'concurrency'],
    [{ onDrop: 'yes' }, 'onDrop'],
    [{ client: {} }, 'client'],
    [{ apiKey: '' }, 'apiKey'],
    [{ apiKey: 'pk_test_x.y', baseUrl: 'not a url' }, 'baseUrl'],
    [{ maxQueueSise: 10 }, 'maxQueueSise'],
  ])('refuses bad configuration %j at start-up, naming the option', (options, option) => {
    const saved = process.env.PACSPACE_API_KEY;
    delete process.env.PACSPACE_API_KEY;
    try {
      expect(() => createMeter(options as never)).toThrow(MeteringConfigError);
      expect(() => createMeter(options as never)).toThrow(new RegExp(`^${option}: `));
    } finally {
      if (saved !== undefined) process.env.PACSPACE_API_KEY = saved;
    }
  });
});
