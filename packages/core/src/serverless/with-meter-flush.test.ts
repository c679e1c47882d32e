import { createMeter } from '../meter.js';
import type { Meter } from '../meter-api.js';
import { MeteringConfigError, MeteringError } from '../errors.js';
import type { DrainReport } from '../reporting/stats.js';
import { FLUSH_RESERVE_MS, withMeterFlush } from './with-meter-flush.js';

/**
 * A real Meter whose SDK-shaped client (the unit's edge) records what it sends, answering when
 * `answer` says so: at once, or never (PacSpace out of reach).
 */
function meterWith(answer: 'at-once' | 'never') {
  const sent: string[] = [];
  const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const errors: Error[] = [];
  const client = {
    balance: {
      emit: (_c: string, _d: number, _r: string, opts: { referenceId: string }) => {
        if (answer === 'never') return new Promise<never>(() => undefined);
        sent.push(opts.referenceId);
        return Promise.resolve({ status: 'committed', recordId: `rec_${sent.length}` });
      },
    },
  };
  const quiet = () => undefined;
  const logger = { debug: quiet, info: quiet, warn: (obj: object, msg?: string) => void warnings.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' }), error: quiet };
  const meter = createMeter({ client, scope: 'fn', logger, onError: (err) => void errors.push(err) });
  return { meter, sent, warnings, errors };
}

/** The meter, with the options of every flush and the report it answered recorded. */
function recordFlushes(meter: Meter) {
  const calls: Array<{ timeoutMs?: number | undefined; reportPending?: boolean | undefined }> = [];
  const reports: DrainReport[] = [];
  const flushing = {
    flush: async (options: { timeoutMs?: number; reportPending?: boolean } = {}) => {
      calls.push(options);
      const report = await meter.flush(options);
      reports.push(report);
      return report;
    },
  };
  return { flushing, calls, reports };
}

describe('withMeterFlush', () => {
  it('returns the handler result only once the delta it queued is delivered', async () => {
    const { meter, sent } = meterWith('at-once');
    const handler = withMeterFlush(meter, async (event: { id: string }) => {
      const { referenceId } = meter.enqueue({ customerId: 'acme', delta: -1, reason: 'job', requestId: event.id }) as { referenceId: string };
      return { statusCode: 200, referenceId };
    });
    const result = await handler({ id: 'inv-1' }, {});
    expect(result.statusCode).toBe(200);
    expect(sent).toEqual([result.referenceId]);
    await meter.close();
  });

  it('flushes when the handler throws, then rethrows its error', async () => {
    const { meter, sent } = meterWith('at-once');
    const boom = new Error('handler failed');
    const handler = withMeterFlush(meter, async () => {
      meter.enqueue({ customerId: 'acme', delta: -1, reason: 'before-failure', requestId: 'inv-2' });
      throw boom;
    });
    await expect(handler(undefined, undefined)).rejects.toBe(boom);
    expect(sent).toEqual(['fn:before-failure:acme:inv-2']);
    await meter.close();
  });

  it('waits flushTimeoutMs at most, less when the invocation has less time left (minus the reserve)', async () => {
    const { meter } = meterWith('at-once');
    const { flushing, calls } = recordFlushes(meter);
    const handler = withMeterFlush(flushing, () => 'ok', { flushTimeoutMs: 5_000 });
    const remaining = (ms: number) => ({ getRemainingTimeInMillis: () => ms });
    await handler('e', remaining(60_000));
    await handler('e', remaining(1_000));
    await handler('e', remaining(100));
    await handler('e', {});
    await handler('e', null);
    await withMeterFlush(flushing, () => 'ok')('e', remaining(60_000));
    expect(calls.map((c) => c.timeoutMs)).toEqual([5_000, 1_000 - FLUSH_RESERVE_MS, 0, 5_000, 5_000, 1_000]);
    expect(calls.every((c) => c.reportPending === true)).toBe(true);
    await meter.close();
  });

  it('returns after the bound when PacSpace does not answer, and the Meter reports what is undelivered (logger and onError)', async () => {
    const { meter, warnings, errors } = meterWith('never');
    const { flushing, reports } = recordFlushes(meter);
    let referenceId = '';
    const handler = withMeterFlush(flushing, () => {
      referenceId = (meter.enqueue({ customerId: 'acme', delta: -1, reason: 'job', requestId: 'inv-3' }) as { referenceId: string }).referenceId;
      return 'answered';
    }, { flushTimeoutMs: 50 });
    expect(await handler('e', {})).toBe('answered');
    expect(reports).toEqual([expect.objectContaining({ timedOut: true, pending: 1, delivered: 0 })]);
    const warning = warnings.find((w) => w.msg === 'pacspace-metering: flush timed out with deltas undelivered');
    expect(warning?.obj).toEqual({ pending: 1, referenceIds: [referenceId] });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(MeteringError);
    expect(errors[0]).toMatchObject({ code: 'FLUSH_TIMEOUT' });
    expect(errors[0]!.message).toContain('with 1 delta(s) undelivered');
    // Still held, not dropped: a later flush may deliver it.
    expect(meter.stats()).toMatchObject({ dropped: {}, inFlight: 1 });
    await meter.close({ timeoutMs: 10 });
  });

  it('reports nothing when everything was delivered, and a plain flush() that times out reports nothing either', async () => {
    const delivered = meterWith('at-once');
    await withMeterFlush(delivered.meter, () => delivered.meter.enqueue({ customerId: 'acme', delta: -1, reason: 'job' }))('e', {});
    expect([delivered.sent.length, delivered.warnings, delivered.errors]).toEqual([1, [], []]);
    await delivered.meter.close();

    const stuck = meterWith('never');
    stuck.meter.enqueue({ customerId: 'acme', delta: -1, reason: 'job' });
    expect(await stuck.meter.flush({ timeoutMs: 20 })).toMatchObject({ timedOut: true, pending: 1 });
    expect([stuck.warnings, stuck.errors]).toEqual([[], []]);
    await stuck.meter.close({ timeoutMs: 10 });
  });

  const one = (): number => 1;
  it.each<[{ meter: unknown; handler: unknown; options: unknown }, string]>([
    [{ meter: {}, handler: one, options: {} }, 'meter'],
    [{ meter: null, handler: one, options: {} }, 'meter'],
    [{ meter: 'ok', handler: 'not a function', options: {} }, 'handler'],
    [{ meter: 'ok', handler: one, options: { flushTimeoutMs: -1 } }, 'flushTimeoutMs'],
    [{ meter: 'ok', handler: one, options: { flushTimeoutMs: 1.5 } }, 'flushTimeoutMs'],
    [{ meter: 'ok', handler: one, options: { flushTimeoutMs: Number.NaN } }, 'flushTimeoutMs'],
  ])('refuses %j naming %s', (args, option) => {
    const { meter } = meterWith('at-once');
    const given = args.meter === 'ok' ? meter : args.meter;
    let thrown: unknown;
    try {
      withMeterFlush(given as Meter, args.handler as () => number, args.options as { flushTimeoutMs: number });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(MeteringConfigError);
    expect((thrown as MeteringConfigError).option).toBe(option);
    void meter.close();
  });
});
