import { aggregateReferenceId, batchKey, checkpointKey, snapshotReferenceId } from './keys.js';

const W1 = '20250301T130000Z.3600s';
const W2 = '20250301T140000Z.3600s';

describe('periodic keys', () => {
  it('derives snapshot referenceIds from the window only: readable, deterministic, distinct', () => {
    const base = { scope: 'billing', name: 'periodic', windowKey: W1, customerId: 'acme', reason: 'storage' };
    expect(snapshotReferenceId(base)).toBe('billing:storage:acme:periodic.20250301T130000Z.3600s');
    expect(snapshotReferenceId({ ...base })).toBe(snapshotReferenceId(base));
    const variants = [base, { ...base, windowKey: W2 }, { ...base, customerId: 'acme2' }, { ...base, reason: 'seats' }, { ...base, name: 'nightly' }];
    expect(new Set(variants.map(snapshotReferenceId)).size).toBe(variants.length);
  });

  it('stays within the referenceId charset and length for awkward customers and reasons', () => {
    const id = snapshotReferenceId({ scope: 's', name: 'periodic', windowKey: W1, customerId: 'org:acme.eu', reason: 'GB hours (storage)' });
    expect(id).toMatch(/^[A-Za-z0-9_.:~-]{1,255}$/);
    expect(id.split(':')).toHaveLength(4);
  });

  it('gives every chunk of every round its own batch key, with five segments', () => {
    const keys = new Set<string>();
    for (const round of [0, 1]) for (let index = 0; index < 3; index++) keys.add(batchKey({ scope: 'billing', name: 'periodic', windowKey: W1, round, index, count: 3 }));
    keys.add(batchKey({ scope: 'billing', name: 'periodic', windowKey: W1, round: 0, index: 0, count: 2 }));
    expect(keys.size).toBe(7);
    expect(batchKey({ scope: 'billing', name: 'periodic', windowKey: W1, round: 0, index: 1, count: 3 })).toBe('billing:periodic:batch:20250301T130000Z.3600s:r0.2of3');
    for (const key of keys) expect(key.split(':')).toHaveLength(5);
  });

  it('derives checkpoint keys from scope, period and customer (or all)', () => {
    expect(checkpointKey({ scope: 'billing', period: '2025-03', customerId: 'acme' })).toBe('billing:checkpoint:2025-03:customer:acme');
    expect(checkpointKey({ scope: 'billing', period: '2025-03' })).toBe('billing:checkpoint:2025-03:all:customers');
    expect(checkpointKey({ scope: 'billing', period: '2025-03', customerId: 'all' })).not.toBe(checkpointKey({ scope: 'billing', period: '2025-03' }));
  });

  it('gives aggregates of different instances and parts different ids in the same window', () => {
    const base = { scope: 'api', reason: 'api_request', customerId: 'acme', windowStart: Date.UTC(2025, 2, 1, 13), instance: 'a1b2c3d4e5f6', part: 1 };
    expect(aggregateReferenceId(base)).toBe('api:api_request:acme:agg.20250301T130000Z.a1b2c3d4e5f6.1');
    const ids = [base, { ...base, part: 2 }, { ...base, instance: 'ffffffffffff' }, { ...base, instance: 'web-1-a1b2c3d4e5f6' }].map(aggregateReferenceId);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id.split(':')[3]).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
  });
});
