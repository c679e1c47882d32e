import { createBalanceGate, createMeter } from '@pacspace-metering/core';
import { onBenchFlush } from './flushers.mjs';

/**
 * The hot path without the network: a Meter with default options whose SDK-shaped client answers
 * at once in-process (`emitBatch` included, so deltas travel in batches as they do to PacSpace):
 * each request pays for validation, serialization, queueing and its share of a batch's
 * bookkeeping, and no socket. (A client that never answers would make the queue grow for the
 * whole run, and the cost measured would be the garbage collector walking an ever larger heap,
 * which no bounded queue has.)
 */
export function inProcessMeter(extra = {}) {
  const receipt = { recordId: 'rec_bench', status: 'QUEUED' };
  const client = {
    balance: {
      ...extra,
      emit: () => Promise.resolve(receipt),
      emitBatch: (deltas) => Promise.resolve({ totalQueued: deltas.length, totalFailed: 0, results: deltas.map((_, index) => ({ index, status: 'QUEUED' })) }),
    },
  };
  return createMeter({ client });
}

/**
 * A balance gate over the in-process Meter, its client answering derive (a balance no benchmark
 * exhausts) and delta statuses (VERIFIED) at once, as the built-in client reads them: what
 * `requireBalance()` costs per request with the balance cached (one read per `ttlMs`, default 5 s;
 * the price reserved and released per request; with meterRequests, each delivered delta held until
 * the next refresh sees it counted).
 */
export function inProcessGate() {
  const verified = { status: 'VERIFIED' };
  const meter = inProcessMeter({ derive: () => Promise.resolve({ computedBalance: 1e12 }), deltaStatus: () => Promise.resolve(verified) });
  return { meter, gate: createBalanceGate(meter) };
}

/**
 * Real delivery to the sandbox running in another process, default options (batches);
 * `METER_FLUSH_INTERVAL_MS` overrides the linger, to measure what it costs.
 */
export function sandboxMeter(env, extra = {}) {
  const flushIntervalMs = env.METER_FLUSH_INTERVAL_MS === undefined ? undefined : Number(env.METER_FLUSH_INTERVAL_MS);
  return flushedOnRequest(createMeter({ apiKey: env.SANDBOX_KEY, baseUrl: env.SANDBOX_URL, flushIntervalMs, ...extra }));
}

/** The Meter, flushed when the harness asks (its last partial batch delivered before the count). */
function flushedOnRequest(meter) {
  onBenchFlush(() => meter.flush());
  return meter;
}

/** The same, one POST per delta (`delivery: 'single'`), as every delta was sent before batching. */
export function singleDeltaSandboxMeter(env) {
  return flushedOnRequest(createMeter({ apiKey: env.SANDBOX_KEY, baseUrl: env.SANDBOX_URL, delivery: 'single' }));
}

/** The middleware's own cost: a Meter-shaped object whose enqueue accepts and does nothing. */
export function stubMeter() {
  const accepted = { accepted: true, referenceId: 'stub' };
  return { scope: 'bench', enqueue: () => accepted, emit: async () => ({}), refuse: () => accepted, flush: async () => ({}), close: async () => ({}), stats: () => ({}) };
}
