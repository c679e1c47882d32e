import { MeteringError } from '../errors.js';
import { batchKey } from './keys.js';
import { chunk, prepareWindow } from './snapshots.js';

const window = { start: Date.UTC(2025, 2, 1, 13), end: Date.UTC(2025, 2, 1, 14) };
const context = { scope: 'billing', name: 'periodic', window };

function snapshots(n: number) {
  return Array.from({ length: n }, (_, i) => ({ customerId: `cust-${String(i).padStart(4, '0')}`, delta: -(i + 1), reason: 'storage' }));
}

function shuffled<T>(items: T[], seed: number): T[] {
  const copy = [...items];
  let s = seed;
  for (let i = copy.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

describe('prepareWindow', () => {
  it('sorts by customer then reason in code-unit order, whatever order collect used', () => {
    const input = [
      { customerId: 'b', delta: -1, reason: 'x' },
      { customerId: 'B', delta: -1, reason: 'x' },
      { customerId: 'a', delta: -1, reason: 'y' },
      { customerId: 'a', delta: -1, reason: 'x' },
    ];
    const { items } = prepareWindow(input, context);
    expect(items.map((i) => `${i.customerId}/${i.reason}`)).toEqual(['B/x', 'a/x', 'a/y', 'b/x']);
    expect(prepareWindow([...input].reverse(), context).items).toEqual(items);
  });

  it('adds window metadata and the window referenceId, and freezes a copy', () => {
    const metadata = { region: 'eu' };
    const { items } = prepareWindow([{ customerId: 'acme', delta: -2.5, reason: 'storage', metadata }], context);
    metadata.region = 'us';
    expect(items[0]).toEqual({
      customerId: 'acme',
      delta: -2.5,
      reason: 'storage',
      referenceId: 'billing:storage:acme:periodic.20250301T130000Z.3600s',
      metadata: { region: 'eu', windowStart: '2025-03-01T13:00:00.000Z', windowEnd: '2025-03-01T14:00:00.000Z' },
    });
  });

  it('skips zero deltas and counts them', () => {
    const result = prepareWindow([{ customerId: 'a', delta: 0, reason: 'x' }, { customerId: 'b', delta: 3, reason: 'x' }], context);
    expect(result.skipped).toBe(1);
    expect(result.items).toHaveLength(1);
  });

  it('refuses a second snapshot for the same customer and reason', () => {
    const err = catchError(() => prepareWindow([{ customerId: 'a', delta: -1, reason: 'x' }, { customerId: 'a', delta: -2, reason: 'x' }], context));
    expect(err).toBeInstanceOf(MeteringError);
    expect(err.code).toBe('DUPLICATE_SNAPSHOT');
    expect(err.message).toContain('snapshots[1]');
  });

  it.each([
    [[{ customerId: 'has space', delta: -1, reason: 'x' }], 'snapshots[0].customerId'],
    [[{ customerId: 'a', delta: Number.NaN, reason: 'x' }], 'snapshots[0].delta'],
    [[{ customerId: 'a', delta: -1, reason: 'r'.repeat(501) }], 'snapshots[0].reason'],
    [[{ customerId: 'a', delta: -1, reason: 'x', metadata: { n: 1n } }], 'snapshots[0].metadata'],
    [[null], 'snapshots[0]'],
  ])('refuses an invalid snapshot naming it (%#)', (input, field) => {
    const err = catchError(() => prepareWindow(input, context));
    expect(err.code).toBe('INVALID_SNAPSHOT');
    expect(err.message).toContain(field);
  });

  it('refuses something that is not an array', () => {
    expect(catchError(() => prepareWindow(undefined, context)).code).toBe('INVALID_SNAPSHOT');
  });
});

describe('chunk', () => {
  it('splits into even chunks of at most the limit', () => {
    expect(chunk([], 100)).toEqual([]);
    expect(chunk(snapshots(100), 100).map((c) => c.length)).toEqual([100]);
    expect(chunk(snapshots(101), 100).map((c) => c.length)).toEqual([51, 50]);
    expect(chunk(snapshots(250), 100).map((c) => c.length)).toEqual([84, 83, 83]);
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('gives a re-collect in another order the same chunks, hence the same keys and bodies', () => {
    const first = chunk(prepareWindow(snapshots(250), context).items, 100);
    const again = chunk(prepareWindow(shuffled(snapshots(250), 7), context).items, 100);
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    const keys = first.map((_, index) => batchKey({ scope: 'billing', name: 'periodic', windowKey: '20250301T130000Z.3600s', round: 0, index, count: first.length }));
    expect(keys).toEqual(['billing:periodic:batch:20250301T130000Z.3600s:r0.1of3', 'billing:periodic:batch:20250301T130000Z.3600s:r0.2of3', 'billing:periodic:batch:20250301T130000Z.3600s:r0.3of3']);
  });
});

function catchError(fn: () => unknown): MeteringError {
  try {
    fn();
  } catch (err) {
    return err as MeteringError;
  }
  throw new Error('expected a throw');
}
