/** How long to wait between attempts. */
export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Server hints above this are clamped, so a wild `Retry-After` cannot park a delta for days. */
  maxRetryAfterMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the exponential step, plus a random part of the
 * other half, capped at `maxDelayMs`. A server hint (`Retry-After`, `retryAfterSeconds`) is a
 * floor, clamped to `maxRetryAfterMs`.
 */
export function retryDelay(attempt: number, policy: BackoffPolicy, random: () => number, hintMs?: number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = step / 2 + random() * (step / 2);
  const floor = hintMs === undefined ? 0 : Math.min(hintMs, policy.maxRetryAfterMs);
  return Math.ceil(Math.max(jittered, floor));
}
