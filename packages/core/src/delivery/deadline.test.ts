import { jest } from '@jest/globals';
import { DeadlineQueue } from './deadline-queue.js';
import { withDeadline } from './deadline.js';

describe('withDeadline', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('answers like the call when it ends in time', async () => {
    await expect(withDeadline(() => Promise.resolve('ok'), 1_000, '/p')).resolves.toBe('ok');
    await expect(withDeadline(() => Promise.reject(new Error('no')), 1_000, '/p')).rejects.toThrow('no');
  });

  it('turns a synchronous throw into a rejection', async () => {
    await expect(
      withDeadline(() => {
        throw new Error('sync');
      }, 1_000, '/p'),
    ).rejects.toThrow('sync');
  });

  it.each([
    ['its own timer', undefined],
    ['a shared deadline queue', new DeadlineQueue(1_000)],
  ])('rejects with TIMEOUT naming the path when the call outlives the deadline (%s)', async (_name, deadlines) => {
    const answer = withDeadline(() => new Promise<never>(() => undefined), 1_000, '/api/v1/balance/delta/batch', deadlines);
    let settled = false;
    const caught = answer.catch((err: unknown) => err).finally(() => (settled = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(2);
    await expect(caught).resolves.toMatchObject({ code: 'TIMEOUT', status: 0, requestPath: '/api/v1/balance/delta/batch' });
  });
});
