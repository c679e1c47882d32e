import { UnsettledUsage, type DeliveredUsage } from './unsettled-usage.js';

describe('UnsettledUsage', () => {
  it('sums per customer, accumulates an overflow sum under its id, and hands deliveries to listeners as they leave', () => {
    const usage = new UnsettledUsage(60_000);
    const heard: DeliveredUsage[] = [];
    usage.onDelivered((d) => heard.push(d));
    usage.add('r1', 'acme', -1, 0);
    usage.add('r2', 'acme', -2.5, 0);
    usage.add('sum', 'beta', -1, 0);
    usage.add('sum', 'beta', -1, 0); // folded into the same sum
    expect(usage.unsettled('acme', 0)).toBe(-3.5);
    expect(usage.unsettled('beta', 0)).toBe(-2);
    usage.delivered('sum', { recordId: 'rec_9' }, 5);
    expect(heard).toEqual([{ referenceId: 'sum', customerId: 'beta', delta: -2, recordId: 'rec_9', deliveredAt: 5 }]);
    expect(usage.unsettled('beta', 5)).toBe(0);
    expect(usage.settle('r1')).toMatchObject({ customerId: 'acme', delta: -1 });
    expect(usage.unsettled('acme', 5)).toBe(-2.5);
    usage.delivered('unknown', { recordId: 'rec_1' }, 5); // another instance's delta: not ours to count
    expect(heard).toHaveLength(1);
    expect(usage.size).toBe(1);
  });

  it('forgets a customer when its last entry leaves (no floating-point residue) and entries older than maxAgeMs', () => {
    const usage = new UnsettledUsage(1000);
    for (let i = 0; i < 10; i++) usage.add(`r${i}`, 'acme', -0.1, i);
    for (let i = 0; i < 10; i++) usage.settle(`r${i}`);
    expect(usage.unsettled('acme', 10)).toBe(0);
    usage.add('old', 'acme', -1, 0);
    usage.add('new', 'acme', -1, 900);
    expect(usage.unsettled('acme', 999)).toBe(-2);
    expect(usage.unsettled('acme', 1500)).toBe(-1);
    const stop = usage.onDelivered(() => {
      throw new Error('stopped listeners are not called');
    });
    stop();
    usage.delivered('new', undefined, 1500);
    expect(usage.unsettled('acme', 1500)).toBe(0);
  });
});
