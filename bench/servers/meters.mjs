import { createMeter } from '@pacspace-metering/core';

/**
 * The hot path alone: a Meter whose client never answers, so each request pays for validation,
 * serialization and queueing and nothing else. The queue is sized to hold a whole run.
 */
export function pausedMeter() {
  const client = { balance: { emit: () => new Promise(() => {}) } };
  return createMeter({ client, concurrency: 1, maxQueueSize: 5_000_000, maxQueueBytes: 2 ** 31, attemptTimeoutMs: 2 ** 31 - 1 });
}

/** Real delivery to the sandbox running in another process. */
export function sandboxMeter(env) {
  return createMeter({ apiKey: env.SANDBOX_KEY, baseUrl: env.SANDBOX_URL, concurrency: 32, maxQueueSize: 1_000_000, maxQueueBytes: 2 ** 30 });
}
