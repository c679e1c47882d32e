import { createMeter } from '@pacspace-metering/core';

/**
 * The hot path without the network: a Meter whose client answers at once in-process, so each
 * request pays for validation, serialization, queueing and the bookkeeping of one delivery, and no
 * socket. (A client that never answers would make the queue grow for the whole run, and the cost
 * measured would be the garbage collector walking an ever larger heap, which no bounded queue has.)
 */
export function pausedMeter() {
  const receipt = { recordId: 'rec_bench', status: 'QUEUED' };
  const client = { balance: { emit: () => Promise.resolve(receipt) } };
  return createMeter({ client, concurrency: 64 });
}

/** Real delivery to the sandbox running in another process. */
export function sandboxMeter(env) {
  return createMeter({ apiKey: env.SANDBOX_KEY, baseUrl: env.SANDBOX_URL, concurrency: 32, maxQueueSize: 1_000_000, maxQueueBytes: 2 ** 30 });
}

/** The middleware's own cost: a Meter-shaped object whose enqueue accepts and does nothing. */
export function stubMeter() {
  const accepted = { accepted: true, referenceId: 'stub' };
  return { scope: 'bench', enqueue: () => accepted, emit: async () => ({}), refuse: () => accepted, flush: async () => ({}), close: async () => ({}), stats: () => ({}) };
}
