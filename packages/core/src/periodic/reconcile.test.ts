import type { BalanceClient } from '../client/client.js';
import { MeteringConfigError } from '../errors.js';
import { createSentTally, reconcile } from './reconcile.js';

describe('createSentTally', () => {
  it('sums by customer and by the month of delivery, keeping the last months', () => {
    let now = Date.UTC(2025, 0, 31, 23, 59);
    const tally = createSentTally({ now: () => now, keepPeriods: 2 });
    tally.record('acme', -1);
    tally.onDelivered({ customerId: 'acme', delta: -2 });
    tally.record('__proto__', -5);
    now = Date.UTC(2025, 1, 1);
    tally.record('acme', -4);
    expect(tally.total('acme', '2025-01')).toBe(-3);
    expect(tally.total('acme', '2025-02')).toBe(-4);
    expect(tally.totals('2025-01')).toEqual({ acme: -3, ['__proto__']: -5 });
    now = Date.UTC(2025, 2, 1);
    tally.record('acme', -1);
    expect(tally.total('acme', '2025-01')).toBe(0);
    expect(tally.total('acme', '2025-03')).toBe(-1);
  });

  it('refuses bad options naming them', () => {
    expect(() => createSentTally({ keepPeriods: 0 })).toThrow(MeteringConfigError);
  });
});

describe('reconcile', () => {
  const client = (answer: unknown, seen: unknown[] = []): BalanceClient => ({
    balance: {
      emit: async () => ({}),
      derive: async (customerId, options) => {
        seen.push({ customerId, options });
        return answer;
      },
    },
  });

  it('compares what was sent with what derive says for the month', async () => {
    const seen: unknown[] = [];
    const report = await reconcile({ client: client({ computedBalance: -42, deltasCount: 7 }, seen), customerId: 'acme', period: '2025-03', sent: -42 });
    expect(report).toMatchObject({ customerId: 'acme', period: '2025-03', sent: -42, derived: -42, deltasCount: 7, difference: 0, matches: true });
    expect(seen).toEqual([{ customerId: 'acme', options: { period: '2025-03' } }]);
  });

  it('reports the difference when they disagree', async () => {
    const report = await reconcile({ client: client({ computedBalance: -45 }), customerId: 'acme', period: '2025-03', sent: -42 });
    expect(report).toMatchObject({ derived: -45, difference: -3, matches: false, deltasCount: undefined });
  });

  it('rejects bad arguments and clients without derive', async () => {
    await expect(reconcile({ client: client({}), customerId: 'acme', period: '2025-03', sent: Number.NaN })).rejects.toMatchObject({ option: 'sent' });
    await expect(reconcile({ client: client({}), customerId: 'acme', period: 'March', sent: 0 })).rejects.toMatchObject({ option: 'period' });
    await expect(reconcile({ client: { balance: { emit: async () => ({}) } }, customerId: 'acme', period: '2025-03', sent: 0 })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await expect(reconcile({ client: client({ nothing: true }), customerId: 'acme', period: '2025-03', sent: 0 })).rejects.toMatchObject({ code: 'API_ERROR' });
  });
});

describe('createSentTally with referenceIds', () => {
  it('counts each referenceId once, however often it is delivered', () => {
    const tally = createSentTally({ now: () => Date.UTC(2025, 2, 10) });
    tally.onDelivered({ customerId: 'acme', delta: -5, referenceId: 'api:report:acme:req-1' });
    tally.onDelivered({ customerId: 'acme', delta: -5, referenceId: 'api:report:acme:req-1' });
    tally.onDelivered({ customerId: 'acme', delta: -1, referenceId: 'api:view:acme:req-2' });
    tally.record('acme', -2);
    expect(tally.total('acme', '2025-03')).toBe(-8);
  });
});
