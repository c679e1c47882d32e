import type { BalanceClient } from '../../client/client.js';
import { MeteringConfigError } from '../../errors.js';
import { createMeter, type Meter } from '../../meter.js';
import { createAggregatingMeter } from './aggregating-meter.js';

interface Sent {
  customerId: string;
  delta: number;
  reason: string;
  referenceId?: string;
  metadata?: Record<string, unknown>;
}

function recordingMeter(scope = 'api'): { meter: Meter; sent: Sent[] } {
  const sent: Sent[] = [];
  const client: BalanceClient = {
    balance: {
      async emit(customerId, delta, reason, options = {}) {
        sent.push({ customerId, delta, reason, referenceId: options.referenceId, metadata: options.metadata });
        return { recordId: `rec_${sent.length}`, status: 'QUEUED' };
      },
    },
  };
  return { meter: createMeter({ client, scope }), sent };
}

const T0 = Date.UTC(2025, 2, 1, 13, 0, 0);

describe('createAggregatingMeter', () => {
  it('sums per (customer, reason, window) and sends one delta per window when it ends', async () => {
    const { meter, sent } = recordingMeter();
    let now = T0 + 1_000;
    const agg = createAggregatingMeter(meter, { interval: '1m', now: () => now });
    const first = agg.enqueue({ customerId: 'acme', delta: -1, reason: 'search' });
    for (let i = 0; i < 9; i++) agg.enqueue({ customerId: 'acme', delta: -1, reason: 'search', requestId: `r${i}`, metadata: { ignored: true } });
    agg.enqueue({ customerId: 'acme', delta: -5, reason: 'export' });
    agg.enqueue({ customerId: 'globex', delta: -2, reason: 'search' });
    expect(first).toEqual({ accepted: true, referenceId: expect.stringMatching(/^api:search:acme:agg\.20250301T130000Z\.[0-9a-f]{12}\.1$/) });
    expect(agg.stats().aggregation).toMatchObject({ requests: 12, openAggregates: 3, openRequests: 12, aggregatesEnqueued: 0 });
    expect(agg.closeEndedWindows()).toBe(0);

    now = T0 + 60_000;
    expect(agg.closeEndedWindows()).toBe(3);
    await agg.flush();
    expect(sent.map(({ customerId, reason, delta }) => ({ customerId, reason, delta })).sort((a, b) => (a.customerId + a.reason < b.customerId + b.reason ? -1 : 1))).toEqual([
      { customerId: 'acme', reason: 'export', delta: -5 },
      { customerId: 'acme', reason: 'search', delta: -10 },
      { customerId: 'globex', reason: 'search', delta: -2 },
    ]);
    const search = sent.find((s) => s.reason === 'search' && s.customerId === 'acme')!;
    expect(search.referenceId).toBe(first.referenceId);
    expect(search.metadata).toEqual({ aggregatedRequests: 10, windowStart: '2025-03-01T13:00:00.000Z', windowEnd: '2025-03-01T13:01:00.000Z' });
    expect(agg.stats().aggregation).toMatchObject({ openAggregates: 0, openRequests: 0, aggregatesEnqueued: 3 });
    await agg.close();
  });

  it('closes the old window when a request arrives in the next one before the timer', async () => {
    const { meter, sent } = recordingMeter();
    let now = T0;
    const agg = createAggregatingMeter(meter, { windowMs: 60_000, now: () => now });
    agg.enqueue({ customerId: 'acme', delta: -1, reason: 'search' });
    now = T0 + 61_000;
    const next = agg.enqueue({ customerId: 'acme', delta: -1, reason: 'search' });
    expect(next.accepted && next.referenceId).toContain('agg.20250301T130100Z.');
    await meter.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.metadata?.windowStart).toBe('2025-03-01T13:00:00.000Z');
    await agg.close();
    expect(sent).toHaveLength(2);
  });

  it('gives an early flush and the rest of the window different referenceIds (parts)', async () => {
    const { meter, sent } = recordingMeter();
    const now = T0 + 5_000;
    const agg = createAggregatingMeter(meter, { now: () => now });
    agg.enqueue({ customerId: 'acme', delta: -3, reason: 'search' });
    await agg.flush();
    agg.enqueue({ customerId: 'acme', delta: -4, reason: 'search' });
    await agg.close();
    expect(sent.map((s) => s.delta)).toEqual([-3, -4]);
    expect(new Set(sent.map((s) => s.referenceId)).size).toBe(2);
    expect(sent.every((s) => s.referenceId!.includes('agg.20250301T130000Z.'))).toBe(true);
  });

  it('gives two instances aggregating the same customer and window different referenceIds', () => {
    const { meter } = recordingMeter();
    const a = createAggregatingMeter(meter, { now: () => T0, instanceId: 'web-1', closeMeter: false });
    const b = createAggregatingMeter(meter, { now: () => T0, instanceId: 'web-1', closeMeter: false });
    const ra = a.enqueue({ customerId: 'acme', delta: -1, reason: 'search' });
    const rb = b.enqueue({ customerId: 'acme', delta: -1, reason: 'search' });
    expect(a.instanceId).toMatch(/^web-1-[0-9a-f]{12}$/);
    expect(ra.referenceId).not.toBe(rb.referenceId);
  });

  it('sends nothing for requests that net to zero, and splits sums that would leave the API range', async () => {
    const { meter, sent } = recordingMeter();
    const agg = createAggregatingMeter(meter, { now: () => T0 });
    agg.enqueue({ customerId: 'acme', delta: 5, reason: 'credit' });
    agg.enqueue({ customerId: 'acme', delta: -5, reason: 'credit' });
    for (let i = 0; i < 3; i++) agg.enqueue({ customerId: 'big', delta: -600_000_000, reason: 'bytes' });
    await agg.close();
    expect(sent.filter((s) => s.customerId === 'acme')).toHaveLength(0);
    expect(agg.stats().aggregation.nettedToZero).toBe(1);
    expect(sent.filter((s) => s.customerId === 'big').map((s) => s.delta)).toEqual([-600_000_000, -600_000_000, -600_000_000]);
  });

  it('sums decimals without float drift', async () => {
    const { meter, sent } = recordingMeter();
    const agg = createAggregatingMeter(meter, { now: () => T0 });
    for (let i = 0; i < 1000; i++) agg.enqueue({ customerId: 'acme', delta: 0.1, reason: 'gb' });
    await agg.close();
    expect(sent[0]!.delta).toBe(100);
  });

  it('hands invalid input to the meter, which refuses and counts it; refuses after close', async () => {
    const { meter } = recordingMeter();
    const agg = createAggregatingMeter(meter, { now: () => T0 });
    const refused = agg.enqueue({ customerId: 'has space', delta: -1, reason: 'x' });
    expect(refused).toMatchObject({ accepted: false, reason: 'invalid' });
    expect(agg.enqueue(null as never)).toMatchObject({ accepted: false, reason: 'invalid' });
    expect(agg.stats().dropped.invalid).toBe(2);
    await agg.close();
    expect(agg.enqueue({ customerId: 'acme', delta: -1, reason: 'x' })).toMatchObject({ accepted: false, reason: 'closed' });
    expect(agg.stats().dropped.closed).toBe(1);
    expect(agg.stats().closed).toBe(true);
  });

  it('sends everything early when maxOpenAggregates is reached', async () => {
    const { meter, sent } = recordingMeter();
    const agg = createAggregatingMeter(meter, { now: () => T0, maxOpenAggregates: 2 });
    for (const c of ['a', 'b', 'c']) agg.enqueue({ customerId: c, delta: -1, reason: 'x' });
    expect(agg.stats().aggregation.openAggregates).toBe(1);
    await agg.close();
    expect(sent.map((s) => s.customerId).sort()).toEqual(['a', 'b', 'c']);
  });

  it('keeps emit unaggregated and delegates checkpoint', async () => {
    const { meter, sent } = recordingMeter();
    const agg = createAggregatingMeter(meter, { now: () => T0 });
    const receipt = await agg.emit({ customerId: 'acme', delta: -1, reason: 'x', requestId: 'r1' });
    expect(receipt.referenceId).toBe('api:x:acme:r1');
    expect(sent).toHaveLength(1);
    await expect(agg.checkpoint('acme', { period: '2025-03' })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await agg.close();
  });

  it('arms only unref\'d timers, and only while sums are open', async () => {
    const { meter } = recordingMeter();
    const timers: NodeJS.Timeout[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      const t = realSetTimeout(fn, ms);
      timers.push(t);
      return t;
    }) as typeof setTimeout;
    try {
      const agg = createAggregatingMeter(meter, { now: () => T0 });
      expect(timers).toHaveLength(0);
      agg.enqueue({ customerId: 'acme', delta: -1, reason: 'x' });
      expect(timers.length).toBeGreaterThan(0);
      expect(timers.every((t) => !t.hasRef())).toBe(true);
      await agg.flush();
      await agg.close();
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
  });

  it('refuses bad options naming them', () => {
    const { meter } = recordingMeter();
    const option = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as MeteringConfigError).option;
      }
      return undefined;
    };
    expect(option(() => createAggregatingMeter(meter, { interval: '7m' }))).toBe('interval');
    expect(option(() => createAggregatingMeter(meter, { windowMs: 1234 }))).toBe('windowMs');
    expect(option(() => createAggregatingMeter(meter, { interval: '1m', windowMs: 60_000 }))).toBe('windowMs');
    expect(option(() => createAggregatingMeter(meter, { instanceId: 'has space' }))).toBe('instanceId');
    expect(option(() => createAggregatingMeter(meter, { maxOpenAggregates: 0 }))).toBe('maxOpenAggregates');
    expect(option(() => createAggregatingMeter(meter, { windwMs: 1 } as never))).toBe('windwMs');
    expect(option(() => createAggregatingMeter({} as Meter))).toBe('meter');
  });
});
