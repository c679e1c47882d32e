import { mapBatchAnswer } from './batch-result.js';

describe('mapBatchAnswer', () => {
  it('maps results back by index, not by position', () => {
    const answer = mapBatchAnswer(
      {
        totalQueued: 2,
        totalFailed: 1,
        results: [
          { index: 2, status: 'QUEUED', recordId: 'rec_3' },
          { index: 0, status: 'FAILED', error: 'VALIDATION_ERROR', message: 'bad' },
          { index: 1, status: 'QUEUED', idempotent: true },
        ],
      },
      3,
    );
    expect(answer).toEqual({
      kind: 'answered',
      outcomes: [
        { kind: 'permanent', code: 'VALIDATION_ERROR', message: 'bad', integrity: false },
        { kind: 'delivered', replayed: true, receipt: { index: 1, status: 'QUEUED', idempotent: true } },
        { kind: 'delivered', replayed: false, recordId: 'rec_3', receipt: { index: 2, status: 'QUEUED', recordId: 'rec_3' } },
      ],
    });
  });

  it('counts every item of a replayed batch as replayed', () => {
    const answer = mapBatchAnswer({ idempotent: true, results: [{ index: 0, status: 'QUEUED' }] }, 1);
    expect(answer).toEqual({ kind: 'answered', outcomes: [{ kind: 'delivered', replayed: true, receipt: { index: 0, status: 'QUEUED' } }] });
  });

  it('tells transient item failures from permanent and integrity ones', () => {
    const answer = mapBatchAnswer(
      {
        results: [
          { index: 0, status: 'FAILED', error: 'CADENCE_LIMIT', retryAfterSeconds: 2 },
          { index: 1, status: 'FAILED', error: 'IDEMPOTENCY_CONFLICT' },
          { index: 2, status: 'FAILED' },
        ],
      },
      4,
    );
    if (answer.kind !== 'answered') throw new Error('expected answered');
    expect(answer.outcomes[0]).toMatchObject({ kind: 'transient', code: 'CADENCE_LIMIT', retryAfterMs: 2000 });
    expect(answer.outcomes[1]).toMatchObject({ kind: 'permanent', code: 'IDEMPOTENCY_CONFLICT', integrity: true });
    expect(answer.outcomes[2]).toMatchObject({ kind: 'permanent', code: 'API_ERROR', integrity: false });
    expect(answer.outcomes[3]).toMatchObject({ kind: 'transient', code: 'MISSING_RESULT' });
  });

  it('ignores out-of-range and repeated indexes', () => {
    const answer = mapBatchAnswer({ results: [{ index: 0, status: 'QUEUED' }, { index: 0, status: 'FAILED', error: 'X' }, { index: 5, status: 'QUEUED' }, { index: -1 }, null] }, 1);
    expect(answer).toEqual({ kind: 'answered', outcomes: [{ kind: 'delivered', replayed: false, receipt: { index: 0, status: 'QUEUED' } }] });
  });

  it('reads a pending answer', () => {
    expect(mapBatchAnswer({ code: 'IDEMPOTENCY_PENDING', retryAfterSeconds: 1 }, 3)).toEqual({ kind: 'pending', retryAfterMs: 1000 });
  });
});
