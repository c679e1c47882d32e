import type { BalanceClient, BatchDelta } from '../client/client.js';
import { MeteringConfigError, PacSpaceApiError } from '../errors.js';
import { createPeriodicMeter } from './periodic-meter.js';
import type { PeriodicMeterOptions } from './periodic-options.js';
import { createMemoryStateStore } from './state-store.js';

const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 1);

/** A batch client with an in-memory ledger: per-key replay and per-item dedupe by referenceId, like PacSpace. */
function fakeBatchClient(failures: Array<Error | 'item-cadence'> = []) {
  const committed = new Map<string, BatchDelta>();
  const keys = new Map<string, string>();
  const calls: Array<{ key?: string; size: number }> = [];
  const client: BalanceClient = {
    balance: {
      emit: async () => {
        throw new Error('emit must not be used when emitBatch exists');
      },
      async emitBatch(deltas, options = {}) {
        calls.push({ key: options.idempotencyKey, size: deltas.length });
        const failure = failures.shift();
        if (failure instanceof Error) throw failure;
        const body = JSON.stringify(deltas);
        if (options.idempotencyKey && keys.has(options.idempotencyKey) && keys.get(options.idempotencyKey) !== body) {
          throw new PacSpaceApiError('conflict', { status: 409, code: 'IDEMPOTENCY_CONFLICT' });
        }
        if (options.idempotencyKey) keys.set(options.idempotencyKey, body);
        const results = deltas.map((d, index) => {
          if (failure === 'item-cadence' && index === 0) return { index, status: 'FAILED', error: 'CADENCE_LIMIT', retryAfterSeconds: 0 };
          const replay = committed.has(d.referenceId!);
          if (!replay) committed.set(d.referenceId!, d);
          return { index, status: 'QUEUED', ...(replay ? { idempotent: true } : {}) };
        });
        return { totalQueued: results.length, totalFailed: 0, results };
      },
    },
  };
  return { client, committed, calls };
}

function options(overrides: Partial<PeriodicMeterOptions>): PeriodicMeterOptions {
  return {
    scope: 'unit',
    interval: '1h',
    startAt: T0,
    stateStore: createMemoryStateStore(),
    retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 4 },
    collect: ({ start }) => [{ customerId: 'acme', delta: -(new Date(start).getUTCHours() + 1), reason: 'storage' }],
    ...overrides,
  };
}

describe('createPeriodicMeter', () => {
  it('delivers every completed window once, in order, and nothing not yet completed', async () => {
    const { client, committed, calls } = fakeBatchClient();
    let now = T0 + 3 * H + 10;
    const seen: string[] = [];
    const periodic = createPeriodicMeter(options({ client, now: () => now, collect: ({ start, end, key }) => (seen.push(`${start.toISOString()}|${end.toISOString()}|${key}`), [{ customerId: 'acme', delta: -1, reason: 'storage' }]) }));
    const report = await periodic.runDue();
    expect(report.status).toBe('idle');
    expect(report.windows.map((w) => w.key)).toEqual(['20250301T000000Z.3600s', '20250301T010000Z.3600s', '20250301T020000Z.3600s']);
    expect(seen[0]).toBe('2025-03-01T00:00:00.000Z|2025-03-01T01:00:00.000Z|20250301T000000Z.3600s');
    expect(report.nextStart).toEqual(new Date(T0 + 3 * H));
    expect(committed.size).toBe(3);
    expect(calls.map((c) => c.key)).toEqual(['unit:periodic:batch:20250301T000000Z.3600s:r0.1of1', 'unit:periodic:batch:20250301T010000Z.3600s:r0.1of1', 'unit:periodic:batch:20250301T020000Z.3600s:r0.1of1']);
    expect((await periodic.runDue()).windows).toHaveLength(0);
    now += H;
    expect((await periodic.runDue()).windows.map((w) => w.key)).toEqual(['20250301T030000Z.3600s']);
    await periodic.stop();
  });

  it('starts at the current window when there is no state and no startAt, and saves that at once', async () => {
    const { client } = fakeBatchClient();
    const store = createMemoryStateStore();
    const periodic = createPeriodicMeter(options({ client, startAt: undefined, stateStore: store, now: () => T0 + 90 * 60_000 }));
    expect((await periodic.runDue()).windows).toHaveLength(0);
    expect(store.current()?.nextStart).toBe('2025-03-01T01:00:00.000Z');
    await periodic.stop();
  });

  it('retries a transient failure with the same key and counts replays as delivered', async () => {
    const drop = new PacSpaceApiError('socket hang up', { status: 0, code: 'NETWORK_ERROR' });
    const { client, calls } = fakeBatchClient([drop, drop]);
    const retries: number[] = [];
    const periodic = createPeriodicMeter(options({ client, now: () => T0 + H, onRetry: (e) => retries.push(e.attempt) }));
    const report = await periodic.runDue();
    expect(report.windows[0]).toMatchObject({ delivered: 1, replayed: 0, requests: 3, rounds: 1 });
    expect(new Set(calls.map((c) => c.key)).size).toBe(1);
    expect(retries).toEqual([1, 2]);
    await periodic.stop();
  });

  it('moves to the next key round when items are refused for now inside a 2xx answer', async () => {
    const { client, calls, committed } = fakeBatchClient(['item-cadence']);
    const periodic = createPeriodicMeter(options({ client, now: () => T0 + H, collect: () => [{ customerId: 'a', delta: -1, reason: 'x' }, { customerId: 'b', delta: -1, reason: 'x' }] }));
    const report = await periodic.runDue();
    expect(report.windows[0]).toMatchObject({ items: 2, delivered: 2, replayed: 1, rounds: 2 });
    expect(calls.map((c) => c.key)).toEqual(['unit:periodic:batch:20250301T000000Z.3600s:r0.1of1', 'unit:periodic:batch:20250301T000000Z.3600s:r1.1of1']);
    expect(committed.size).toBe(2);
    await periodic.stop();
  });

  it('ends the run as retrying after maxAttempts, then resumes the frozen window with the same key', async () => {
    const down = new PacSpaceApiError('down', { status: 503, code: 'SERVICE_UNAVAILABLE' });
    const { client, calls } = fakeBatchClient([down, down, down, down]);
    let collected = 0;
    const periodic = createPeriodicMeter(options({ client, now: () => T0 + H, collect: () => (collected++, [{ customerId: 'a', delta: -collected, reason: 'x' }]) }));
    const first = await periodic.runDue();
    expect(first.status).toBe('retrying');
    expect(first.retry).toMatchObject({ key: '20250301T000000Z.3600s', attempts: 4 });
    expect((await periodic.status()).pending).toMatchObject({ items: 1, round: 0 });
    const second = await periodic.runDue();
    expect(second.windows).toHaveLength(1);
    expect(collected).toBe(1);
    expect(new Set(calls.map((c) => c.key)).size).toBe(1);
    await periodic.stop();
  });

  it('retries collect when it throws, and never moves past the window', async () => {
    const { client } = fakeBatchClient();
    let fail = 10;
    const errors: string[] = [];
    const periodic = createPeriodicMeter(options({
      client,
      now: () => T0 + 2 * H,
      onError: (err, ctx) => errors.push(`${ctx.stage}:${(err as { code?: string }).code}`),
      collect: () => {
        if (fail-- > 0) throw new Error('db down');
        return [{ customerId: 'a', delta: -1, reason: 'x' }];
      },
    }));
    expect((await periodic.runDue()).status).toBe('retrying');
    expect(errors.every((e) => e === 'collect:COLLECT_FAILED')).toBe(true);
    expect((await periodic.runDue()).status).toBe('retrying');
    const report = await periodic.runDue();
    expect(report.status).toBe('idle');
    expect(report.windows.map((w) => w.key)).toEqual(['20250301T000000Z.3600s', '20250301T010000Z.3600s']);
    await periodic.stop();
  });

  it('stops at a window that fails for good, reports it once, and moves on only when told', async () => {
    const { client, committed } = fakeBatchClient();
    const failures: string[] = [];
    let bad = true;
    const periodic = createPeriodicMeter(options({
      client,
      now: () => T0 + 3 * H,
      onWindowFailed: (f) => failures.push(`${f.key}:${f.code}`),
      collect: ({ start }) => [{ customerId: bad && start.getUTCHours() === 1 ? 'bad customer' : 'a', delta: -1, reason: 'x' }],
    }));
    const report = await periodic.runDue();
    expect(report.status).toBe('failed');
    expect(report.windows).toHaveLength(1);
    expect(report.failure).toMatchObject({ key: '20250301T010000Z.3600s', code: 'INVALID_SNAPSHOT' });
    expect((await periodic.runDue()).status).toBe('failed');
    expect(failures).toEqual(['20250301T010000Z.3600s:INVALID_SNAPSHOT']);
    expect(committed.size).toBe(1);
    bad = false;
    const retried = await periodic.retryFailed();
    expect(retried.status).toBe('idle');
    expect(retried.windows.map((w) => w.key)).toEqual(['20250301T010000Z.3600s', '20250301T020000Z.3600s']);
    await periodic.stop();
  });

  it('falls back to balance.emit per item, keyed by referenceId, when the client has no emitBatch', async () => {
    const keys: string[] = [];
    const client: BalanceClient = {
      balance: {
        async emit(_customerId, _delta, _reason, opts = {}) {
          keys.push(opts.idempotencyKey!);
          return { recordId: 'rec', status: 'QUEUED' };
        },
      },
    };
    const periodic = createPeriodicMeter(options({ client, now: () => T0 + H, collect: () => [{ customerId: 'b', delta: -1, reason: 'x' }, { customerId: 'a', delta: -1, reason: 'x' }] }));
    expect((await periodic.runDue()).windows[0]).toMatchObject({ delivered: 2, requests: 2 });
    expect(keys).toEqual(['unit:x:a:periodic.20250301T000000Z.3600s', 'unit:x:b:periodic.20250301T000000Z.3600s']);
    await periodic.stop();
  });

  it('runs on unref\'d timers after start(), and stop() is final', async () => {
    const { client } = fakeBatchClient();
    const timers: NodeJS.Timeout[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      const t = realSetTimeout(fn, ms);
      timers.push(t);
      return t;
    }) as typeof setTimeout;
    let delivered = 0;
    try {
      let resolveFirst!: () => void;
      const first = new Promise<void>((resolve) => (resolveFirst = resolve));
      const periodic = createPeriodicMeter(options({ client, now: () => T0 + H + 1, onWindow: () => (delivered++, resolveFirst()) }));
      periodic.start();
      await first;
      expect(delivered).toBe(1);
      expect(timers.length).toBeGreaterThan(0);
      expect(timers.every((t) => !t.hasRef())).toBe(true);
      await periodic.stop();
      await expect(periodic.runDue()).rejects.toMatchObject({ code: 'STOPPED' });
      expect(() => periodic.start()).toThrow(/stopped/);
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
  });

  it('bridges to the new grid when the interval changes between runs: no gap, no overlap', async () => {
    const { client } = fakeBatchClient();
    const store = createMemoryStateStore();
    const hourly = createPeriodicMeter(options({ client, stateStore: store, now: () => T0 + 13 * H + 5 }));
    expect((await hourly.runDue()).windows).toHaveLength(13);
    await hourly.stop();
    const sixHourly = createPeriodicMeter(options({ client, stateStore: store, interval: '6h', now: () => T0 + 30 * H }));
    const report = await sixHourly.runDue();
    expect(report.windows.map((w) => [w.start.getTime() - T0, w.end.getTime() - T0].map((ms) => ms / H))).toEqual([[13, 18], [18, 24], [24, 30]]);
    expect(report.windows[0]!.key).toBe('20250301T130000Z.18000s');
    await sixHourly.stop();
  });

  it('refuses a state store that belongs to another periodic meter', async () => {
    const { client } = fakeBatchClient();
    const store = createMemoryStateStore();
    const a = createPeriodicMeter(options({ client, name: 'storage', stateStore: store, now: () => T0 }));
    await a.runDue();
    const b = createPeriodicMeter(options({ client, name: 'seats', stateStore: store, now: () => T0 }));
    await expect(b.runDue()).rejects.toMatchObject({ option: 'stateStore' });
    await a.stop();
    await b.stop();
  });

  it.each([
    [{ collect: undefined }, 'collect'],
    [{ interval: '7h' }, 'interval'],
    [{ startAt: T0 + 1 }, 'startAt'],
    [{ name: 'a.b' }, 'name'],
    [{ scope: 'has space' }, 'scope'],
    [{ maxBatchSize: 101 }, 'maxBatchSize'],
    [{ retry: { maxAttempts: 0 } }, 'retry.maxAttempts'],
    [{ retry: { tries: 3 } }, 'retry.tries'],
    [{ statePath: '/tmp/x.json' }, 'stateStore'],
    [{ closePeriods: { drain: [{}] } }, 'closePeriods.drain'],
    [{ client: { balance: {} } }, 'client'],
    [{ onWindow: 'no' }, 'onWindow'],
    [{ intervall: '1h' }, 'intervall'],
  ])('refuses bad options naming them (%#)', (bad, option) => {
    let error: unknown;
    try {
      createPeriodicMeter({ ...options({ client: fakeBatchClient().client }), ...(bad as object) } as PeriodicMeterOptions);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MeteringConfigError);
    expect((error as MeteringConfigError).option).toBe(option);
  });
});
