import { batchIdempotencyKey, formBatch, halves } from './batch.js';
import type { QueuedDelta } from '../store/store.js';

const item = (n: number, attempts = 0): QueuedDelta => {
  const referenceId = `api:r:acme:req-${n}`;
  return { seq: n, referenceId, customerId: 'acme', fields: { customerId: 'acme', delta: -1, reason: 'r', referenceId }, body: JSON.stringify({ customerId: 'acme', delta: -1, reason: 'r', referenceId }), bytes: 60, acceptedAt: 0, attempts, dueAt: 0 };
};

describe('batches', () => {
  it('freezes the members\' bodies, in order, into one batch body', () => {
    const members = [item(1), item(2)];
    const batch = formBatch(members, 'batch', 'api');
    expect(JSON.parse(batch.body)).toEqual({ deltas: members.map((m) => JSON.parse(m.body)) });
    expect(batch.key).toMatch(/^api:batch:2:[0-9a-f]{32}$/);
  });

  it('derives the key from the members and their attempts only', () => {
    expect(batchIdempotencyKey('api', [item(1), item(2)])).toBe(batchIdempotencyKey('api', [item(1), item(2)]));
    expect(batchIdempotencyKey('api', [item(2), item(1)])).not.toBe(batchIdempotencyKey('api', [item(1), item(2)]));
    expect(batchIdempotencyKey('api', [item(1, 1), item(2)])).not.toBe(batchIdempotencyKey('api', [item(1), item(2)]));
    expect(batchIdempotencyKey('api', [item(1)])).not.toBe(batchIdempotencyKey('api', [item(1), item(2)]));
  });

  it('sends a single delta as it was accepted, keyed by its referenceId', () => {
    const member = item(7);
    expect(formBatch([member], 'single', 'api')).toMatchObject({ key: member.referenceId, body: member.body, members: [member] });
  });

  it('halves a batch into two new batches with new keys', () => {
    const batch = formBatch([item(1), item(2), item(3)], 'batch', 'api');
    const [left, right] = halves(batch, 'api');
    expect(left.members.map((m) => m.seq)).toEqual([1, 2]);
    expect(right.members.map((m) => m.seq)).toEqual([3]);
    expect(new Set([batch.key, left.key, right.key]).size).toBe(3);
  });
});
