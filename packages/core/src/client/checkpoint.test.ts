import type { BalanceClient } from './client.js';
import { MeteringConfigError, PacSpaceApiError } from '../errors.js';
import { requestCheckpoint } from './checkpoint.js';

const policy = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 5 };

function fakeClient(answers: Array<() => unknown>): { client: BalanceClient; calls: Array<{ customerId?: string; options?: Record<string, unknown> }> } {
  const calls: Array<{ customerId?: string; options?: Record<string, unknown> }> = [];
  const client: BalanceClient = {
    balance: {
      emit: async () => ({}),
      async checkpoint(customerId, options) {
        calls.push({ customerId, options });
        const next = answers.shift();
        if (!next) throw new Error('no more answers');
        return next();
      },
    },
  };
  return { client, calls };
}

const base = { scope: 'billing', period: '2025-03', policy, random: () => 0.5, attemptTimeoutMs: 1000 };

describe('requestCheckpoint', () => {
  it('retries transient failures with the same key, derived from scope, period and customer', async () => {
    const { client, calls } = fakeClient([
      () => {
        throw new PacSpaceApiError('down', { status: 503, code: 'SERVICE_UNAVAILABLE' });
      },
      () => ({ code: 'IDEMPOTENCY_PENDING', retryAfterSeconds: 0 }),
      () => ({ checkpointId: 'chk_1', status: 'QUEUED', idempotent: true }),
    ]);
    const receipt = await requestCheckpoint({ ...base, client, customerId: 'acme' });
    expect(receipt).toMatchObject({ checkpointId: 'chk_1', period: '2025-03', customerId: 'acme', deduplicated: true, attempts: 3, idempotencyKey: 'billing:checkpoint:2025-03:customer:acme' });
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => JSON.stringify(c))).size).toBe(1);
    expect(calls[0]).toEqual({ customerId: 'acme', options: { period: '2025-03', idempotencyKey: 'billing:checkpoint:2025-03:customer:acme' } });
  });

  it('checkpoints all customers when none is named', async () => {
    const { client, calls } = fakeClient([() => ({ checkpointId: 'chk_all' })]);
    const receipt = await requestCheckpoint({ ...base, client });
    expect(receipt.customerId).toBeNull();
    expect(calls[0]!.customerId).toBeUndefined();
    expect(receipt.idempotencyKey).toBe('billing:checkpoint:2025-03:all:customers');
  });

  it('does not retry a permanent refusal', async () => {
    const { client, calls } = fakeClient([
      () => {
        throw new PacSpaceApiError('no deltas', { status: 404, code: 'NOT_FOUND' });
      },
    ]);
    await expect(requestCheckpoint({ ...base, client, customerId: 'acme' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(calls).toHaveLength(1);
  });

  it('gives up after maxAttempts transient failures with the last error', async () => {
    const fail = () => {
      throw new PacSpaceApiError('down', { status: 502, code: 'BAD_GATEWAY' });
    };
    const { client, calls } = fakeClient([fail, fail, fail, fail, fail]);
    await expect(requestCheckpoint({ ...base, client })).rejects.toMatchObject({ code: 'BAD_GATEWAY' });
    expect(calls).toHaveLength(4);
  });

  it('rejects bad arguments and clients without checkpoint', async () => {
    const { client } = fakeClient([]);
    await expect(requestCheckpoint({ ...base, client, period: '2025-3' })).rejects.toBeInstanceOf(MeteringConfigError);
    await expect(requestCheckpoint({ ...base, client, customerId: 'has space' })).rejects.toMatchObject({ code: 'INVALID_DELTA' });
    await expect(requestCheckpoint({ ...base, client: { balance: { emit: async () => ({}) } } })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });
});
