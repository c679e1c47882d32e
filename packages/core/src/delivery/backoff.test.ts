import { retryDelay } from './backoff.js';

const policy = { baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

describe('retryDelay', () => {
  it('grows exponentially with equal jitter between half and the full step', () => {
    expect(retryDelay(1, policy, () => 0)).toBe(50);
    expect(retryDelay(1, policy, () => 0.999999)).toBe(100);
    expect(retryDelay(3, policy, () => 0)).toBe(200);
    expect(retryDelay(3, policy, () => 0.999999)).toBe(400);
  });

  it('is capped at maxDelayMs', () => {
    expect(retryDelay(30, policy, () => 0.999999)).toBe(1000);
  });

  it('uses a server hint as a floor, clamped to maxRetryAfterMs', () => {
    expect(retryDelay(1, policy, () => 0, 2000)).toBe(2000);
    expect(retryDelay(30, policy, () => 0, 10)).toBe(500);
    expect(retryDelay(1, policy, () => 0, 60_000)).toBe(5000);
  });
});
