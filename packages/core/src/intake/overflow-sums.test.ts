import { OverflowSums } from './overflow-sums.js';
import { totalOf } from './running-sum.js';

describe('OverflowSums', () => {
  it('sums per (customer, reason), exactly, and hands the oldest sum out first', () => {
    const sums = new OverflowSums('api', 10);
    for (let i = 0; i < 1000; i++) expect(sums.add(i % 2 === 0 ? 'a' : 'b', 'search', -0.1, i)).toBe(true);
    sums.add('a', 'export', -5, 2000);
    expect(sums.size).toBe(3);
    expect(sums.deltas).toBe(1001);
    const first = sums.take()!;
    expect(first).toMatchObject({ customerId: 'a', reason: 'search', deltas: 500, firstAt: 0, lastAt: 998 });
    expect(totalOf(first)).toBe(-50);
    expect(first.referenceId).toMatch(/^api:search:a:overflow\.[0-9a-f]{12}\.1$/);
    expect(sums.take()).toMatchObject({ customerId: 'b', deltas: 500 });
    expect(sums.take()).toMatchObject({ customerId: 'a', reason: 'export', deltas: 1 });
    expect(sums.take()).toBeUndefined();
    expect(sums.deltas).toBe(0);
  });

  it('refuses a new (customer, reason) once maxSums are held, but keeps adding to open ones', () => {
    const sums = new OverflowSums('api', 2);
    expect(sums.add('a', 'r', -1, 0)).toBe(true);
    expect(sums.add('b', 'r', -1, 0)).toBe(true);
    expect(sums.add('c', 'r', -1, 0)).toBe(false);
    expect(sums.add('a', 'r', -1, 0)).toBe(true);
    expect(sums.size).toBe(2);
  });

  it('opens a new part before a sum would leave the API range of ±1e9, with a new referenceId', () => {
    const sums = new OverflowSums('api', 10);
    sums.add('a', 'r', -6e8, 0);
    sums.add('a', 'r', -6e8, 1);
    const [full, next] = [sums.take()!, sums.take()!];
    expect([totalOf(full), totalOf(next)]).toEqual([-6e8, -6e8]);
    expect(full.referenceId).not.toBe(next.referenceId);
  });

  it('gives two meters different referenceIds for the same customer and reason', () => {
    const one = new OverflowSums('api', 1);
    const two = new OverflowSums('api', 1);
    one.add('a', 'r', -1, 0);
    two.add('a', 'r', -1, 0);
    expect(one.take()!.referenceId).not.toBe(two.take()!.referenceId);
  });
});
