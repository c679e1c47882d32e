import { createMeter, createMeterHealth, createStreamUsage, DeltaValidationError, enqueueUsage, meterOperation, NOTHING_TO_BILL, type Meter, type MeteringLogger } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { trackUnhandledRejections } from './support/wait.js';

// Issue 21, core: nothing to bill, several deltas per call, streams, operations, the dry run.
describe('issue 21 core: billing what the work measured', () => {
  let sandbox: Sandbox;
  const unhandled = trackUnhandledRejections();
  const meters: Meter[] = [];
  const debug: Array<Record<string, unknown>> = [];
  const logger: MeteringLogger = { debug: (obj) => void debug.push(obj as Record<string, unknown>), info: () => undefined, warn: () => undefined, error: () => undefined };

  function meterFor(scope: string): Meter {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope, retryBaseDelayMs: 5, retryMaxDelayMs: 50, logger });
    meters.push(meter);
    return meter;
  }

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 21 });
  });
  afterEach(() => sandbox.setFaults({}));
  afterAll(async () => {
    await Promise.all(meters.map((m) => m.close({ timeoutMs: 5_000 })));
    await sandbox.close();
    unhandled.stop();
  });

  it('answers a zero delta as skipped: not queued, not a drop, health up, logged at debug', async () => {
    const meter = meterFor('zero');
    const result = meter.enqueue({ customerId: 'acme', delta: 0, reason: 'completion', requestId: 'r-1' });
    expect(result).toEqual({ accepted: true, skipped: 'zero_delta', referenceId: 'zero:completion:acme:r-1' });
    const receipt = await meter.emit({ customerId: 'acme', delta: 0, reason: 'completion', requestId: 'r-2' });
    expect(receipt).toMatchObject({ referenceId: 'zero:completion:acme:r-2', attempts: 0, skipped: 'zero_delta' });
    expect(meter.skip!('nothing_to_bill', { customerId: 'acme', reason: 'completion', requestId: 'r-3' })).toEqual({ accepted: true, skipped: 'nothing_to_bill', referenceId: 'zero:completion:acme:r-3' });
    await meter.flush();
    const stats = meter.stats();
    expect(stats).toMatchObject({ accepted: 0, dropped: {}, skipped: { zero_delta: 2, nothing_to_bill: 1 } });
    expect(createMeterHealth(meter).check()).toMatchObject({ healthy: true, problems: [] });
    expect(sandbox.ledger().deltas.filter((d) => d.referenceId.startsWith('zero:'))).toEqual([]);
    expect(debug.filter((d) => d.cause !== undefined).map((d) => d.cause)).toEqual(['zero_delta', 'zero_delta', 'nothing_to_bill']);
  });

  it('still refuses a non-finite delta and an invalid customer with a zero delta', () => {
    const meter = meterFor('invalid');
    expect(meter.enqueue({ customerId: 'acme', delta: NaN, reason: 'completion' })).toMatchObject({ accepted: false, reason: 'invalid' });
    expect(meter.enqueue({ customerId: 'not valid!', delta: 0, reason: 'completion' })).toMatchObject({ accepted: false, reason: 'invalid' });
    expect(meter.stats()).toMatchObject({ dropped: { invalid: 2 }, skipped: {} });
  });

  it('bills several deltas of one call under one referenceId each, and refuses a repeated reason naming the field', async () => {
    const meter = meterFor('multi');
    const results = enqueueUsage(meter, {
      customerId: 'acme',
      requestId: 'call-1',
      metadata: { model: 'small' },
      deltas: [{ reason: 'input_tokens', delta: -12 }, { reason: 'output_tokens', delta: -40, metadata: { cached: false } }, { reason: 'images', delta: NOTHING_TO_BILL }],
    });
    expect(results.map((r) => r.referenceId)).toEqual(['multi:input_tokens:acme:call-1', 'multi:output_tokens:acme:call-1', 'multi:images:acme:call-1']);
    const repeated = enqueueUsage(meter, { customerId: 'acme', requestId: 'call-2', deltas: [{ reason: 'pages', delta: -1 }, { reason: 'pages', delta: -2 }] });
    expect(repeated).toHaveLength(1);
    expect(repeated[0]).toMatchObject({ accepted: false, reason: 'invalid' });
    expect((repeated[0] as { error: DeltaValidationError }).error.field).toBe('deltas[1].reason');
    expect(enqueueUsage(meter, { customerId: 'acme', requestId: 'call-3', deltas: NOTHING_TO_BILL })).toEqual([]);
    await meter.flush({ timeoutMs: 10_000 });
    const billed = sandbox.ledger().deltas.filter((d) => d.referenceId.startsWith('multi:'));
    expect(billed.map((d) => [d.referenceId, d.delta])).toEqual([['multi:input_tokens:acme:call-1', -12], ['multi:output_tokens:acme:call-1', -40]]);
    expect(meter.stats().skipped).toEqual({ nothing_to_bill: 2 });
  });

  it('bills a stream once per reason, whether it ended or was cut, never twice', async () => {
    const meter = meterFor('stream');
    const cut = createStreamUsage(meter, { customerId: 'acme', requestId: 's-1' });
    for (let i = 0; i < 7; i++) cut.add('output_tokens', 1);
    cut.add('input_tokens', 5);
    expect(cut.abort()).toHaveLength(2);
    expect(cut.end()).toEqual([]);
    const ended = createStreamUsage(meter, { customerId: 'acme', requestId: 's-2', metadata: { model: 'small' } });
    ended.add('output_tokens', 30);
    ended.end();
    ended.abort();
    const failed = createStreamUsage(meter, { customerId: 'acme', requestId: 's-3' });
    failed.cancel();
    expect(failed.end()).toEqual([]);
    expect(() => ended.add('x', -1)).not.toThrow(); // settled: ignored
    expect(() => createStreamUsage(meter, { customerId: 'a', requestId: 'b' }).add('x', -1)).toThrow(/units/);
    await meter.flush({ timeoutMs: 10_000 });
    const billed = sandbox.ledger().deltas.filter((d) => d.referenceId.startsWith('stream:'));
    expect(billed.map((d) => [d.referenceId, d.delta, d.metadata])).toEqual([
      ['stream:output_tokens:acme:s-1', -7, { stream: 'aborted', units: 7 }],
      ['stream:input_tokens:acme:s-1', -5, { stream: 'aborted', units: 5 }],
      ['stream:output_tokens:acme:s-2', -30, { model: 'small', stream: 'ended', units: 30 }],
    ]);
  });

  it('bills a job retried 5 times with one operation id once, under faults; a failing operation bills nothing', async () => {
    const meter = meterFor('jobs');
    sandbox.setFaults({ serverError: { rate: 0.3, statuses: [503] }, commitThenDrop: { rate: 0.2 } });
    let runs = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      const outcome = await meterOperation(meter, { operationId: 'job-7', customerId: 'acme', reason: 'pages', delta: (r: { pages: number }) => -r.pages }, async () => {
        runs++;
        return { pages: 3 };
      });
      expect(outcome.result).toEqual({ pages: 3 });
    }
    await expect(meterOperation(meter, { operationId: 'job-8', customerId: 'acme', reason: 'pages' }, async () => {
      throw new Error('renderer crashed');
    })).rejects.toThrow('renderer crashed');
    await expect(meterOperation(meter, { operationId: '', customerId: 'acme' }, async () => 1)).rejects.toMatchObject({ field: 'operationId' });
    expect(runs).toBe(5);
    const billed = sandbox.ledger().deltas.filter((d) => d.referenceId.startsWith('jobs:'));
    expect(billed.map((d) => [d.referenceId, d.delta])).toEqual([['jobs:pages:acme:job-7', -3]]);
    expect(typeof billed[0]!.metadata?.latencyMs).toBe('number');
    expect(duplicateReferenceIds(sandbox.ledger())).toEqual([]);
    expect(meter.stats().skipped).toEqual({ already_billed: 4 });
  });

  it('bills a fire-and-forget operation from its result, and nothing for NOTHING_TO_BILL', async () => {
    const meter = meterFor('ops');
    const cached = await meterOperation(meter, { operationId: 'op-1', customerId: 'acme', deltas: () => NOTHING_TO_BILL, confirm: false }, () => 'from cache');
    expect(cached.billed).toEqual([]);
    await meterOperation(meter, { operationId: 'op-2', customerId: 'acme', confirm: false, deltas: (r: { input: number; output: number }) => [{ reason: 'input_tokens', delta: -r.input }, { reason: 'output_tokens', delta: -r.output }] }, () => ({ input: 4, output: 9 }));
    await meter.flush({ timeoutMs: 10_000 });
    const billed = sandbox.ledger().deltas.filter((d) => d.referenceId.startsWith('ops:'));
    expect(billed.map((d) => [d.referenceId, d.delta])).toEqual([['ops:input_tokens:acme:op-2', -4], ['ops:output_tokens:acme:op-2', -9]]);
  });

  it('shows each delta a disabled meter would bill: customer, reason, amount, referenceId', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const meter = createMeter({ enabled: false, scope: 'local', logger: { ...logger, info: (obj) => void lines.push(obj as Record<string, unknown>) } });
    meter.enqueue({ customerId: 'acme', delta: -3, reason: 'pages', requestId: 'r-9' });
    await meter.close();
    expect(lines).toEqual([{ customerId: 'acme', reason: 'pages', delta: -3, referenceId: 'local:pages:acme:r-9' }]);
    expect(unhandled.count()).toBe(0);
  });
});
