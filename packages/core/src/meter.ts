import { createBalanceSource } from './balance/balance-source.js';
import type { UsageTap } from './balance/unsettled-usage.js';
import { createBatchSender } from './batch-sender.js';
import { requestCheckpoint } from './checkpoint.js';
import { verifyCredentials } from './credentials.js';
import { createPacSpaceClient, isBuiltInClient, type BalanceClient } from './client.js';
import { dryRunClient, dryRunReporter } from './dry-run-client.js';
import { DeliveryLoop } from './delivery-loop.js';
import { DeltaOutcomes } from './delta-outcomes.js';
import { Drain, type MeterLifecycle } from './drain.js';
import { DeltaDroppedError, DeltaValidationError } from './errors.js';
import { createIntake } from './intake.js';
import { resolveLogger } from './logger.js';
import { MemoryStore } from './memory-store.js';
import { meterAccount } from './meter-account.js';
import type { Meter } from './meter-api.js';
import { createMeterEvents } from './meter-events.js';
import { resolveMeterConfig, type MeterOptions } from './options.js';
import { OverflowSums } from './overflow-sums.js';
import { Pauses } from './pauses.js';
import { periodOf } from './periodic/interval.js';
import { DEFAULT_RETRY } from './retry.js';
import { newCounters, type MeterStats } from './stats.js';
import type { MeterStore, StoreIdentity } from './store.js';

export type { DeliveryReceipt, DeltaInput, EnqueueResult, Meter, SkippedDelta } from './meter-api.js';

/**
 * Creates a Meter. Validates every option at once and throws {@link MeteringConfigError} naming
 * the first bad one.
 *
 * The Meter is a few units with one job each: the intake (validate, freeze, queue or fold), the
 * store (where accepted deltas wait), the delivery loop (batches, requests, answers), the delta
 * outcomes (delivered, back to the queue, given up; hooks and `emit()` callers), the pauses (rate
 * limits, outages, per-customer cadence) and the drain (`flush`, `close`).
 *
 * @example
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: req.id });
 * await meter.close({ timeoutMs: 10_000 });
 */
export function createMeter(options: MeterOptions = {}): Meter {
  const config = resolveMeterConfig(options);
  const enabled = options.enabled !== false;
  const client: BalanceClient = !enabled
    ? dryRunClient({ report: dryRunReporter(options) })
    : (options.client ?? createPacSpaceClient({ apiKey: options.apiKey, baseUrl: options.baseUrl, timeoutMs: config.attemptTimeoutMs, maxSockets: config.concurrency, transport: options.transport }));
  const builtIn = isBuiltInClient(client) ? client : undefined;
  const store: MeterStore = options.store ?? new MemoryStore();
  // Who this Meter is, for a durable store: it tags rows with it and serves only matching ones.
  const identity: StoreIdentity = Object.freeze({ scope: config.scope, account: meterAccount(options) });
  store.attach?.({ ...identity, maxCount: config.maxQueueSize, maxBytes: config.maxQueueBytes });
  const events = createMeterEvents(options, resolveLogger(options.logger));
  if (!enabled) events.logger.warn({}, 'pacspace-metering: metering is disabled (enabled: false); deltas are validated and answered in-process, nothing is sent to PacSpace');
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const policy = { baseDelayMs: config.retryBaseDelayMs, maxDelayMs: config.retryMaxDelayMs, maxRetryAfterMs: config.maxRetryAfterMs };
  const counters = newCounters();
  const usage: UsageTap = { tracker: undefined };
  const lifecycle: MeterLifecycle = { closed: false, stopped: false };
  const pauses = new Pauses(policy, random, now);
  const overflow = config.overflow === 'fold' ? new OverflowSums(config.scope, config.maxOverflowSums) : undefined;
  const outcomes = new DeltaOutcomes({ config, store, counters, events, pauses, policy, now, random, usage, stopped: () => lifecycle.stopped });
  // Batches need the batch endpoint: the built-in client has it, an SDK-shaped client may not.
  const mode = config.delivery === 'single' || (!builtIn && typeof client.balance.emitBatch !== 'function') ? 'single' : 'batch';
  const loop: DeliveryLoop = new DeliveryLoop({
    config, store, counters, events, pauses, outcomes, policy, now, random, mode,
    sender: createBatchSender(client, builtIn, config.attemptTimeoutMs),
    urgent: (): boolean => drain.waiting || outcomes.awaited > 0,
    settled: () => {
      intake.queueOverflow();
      drain.check();
    },
  });
  const intake = createIntake({ config, store, identity, counters, events, now, overflow, usage, closed: () => lifecycle.closed, accepted: () => loop.accepted() });
  const drain: Drain = new Drain({
    lifecycle, store, counters, events, loop, intake, outcomes, overflow,
    async release() {
      // Our own client's sockets: closing them also abandons what a timed-out close left in flight.
      if (options.client === undefined) builtIn?.close();
      try {
        await store.close?.();
      } catch (err) {
        events.logger.error({ err }, 'pacspace-metering: closing the store failed');
      }
    },
  });

  function stats(): MeterStats {
    const oldest = store.oldestAcceptedAt();
    const at = now();
    return {
      ...counters,
      dropped: { ...counters.dropped },
      failed: { ...counters.failed },
      skipped: { ...counters.skipped },
      // A store that is the queue holds more than memory does: those wait too.
      queued: store.count() + (store.backlog?.() ?? 0) - loop.inFlightDeltas,
      inFlight: loop.inFlightDeltas,
      requestsInFlight: loop.inFlightRequests,
      overflow: { sums: overflow?.size ?? 0, deltas: overflow?.deltas ?? 0 },
      queuedBytes: store.bytes(),
      oldestQueuedAgeMs: oldest === undefined ? 0 : at - oldest,
      pausedUntil: pauses.meterUntil > at ? pauses.meterUntil : null,
      pausedCustomers: pauses.pausedCustomers(at),
      closed: lifecycle.closed,
    };
  }

  // A durable store may hold deltas from an earlier run (or, shared, other instances' deltas to
  // take over): resume them with their frozen bodies.
  if (store.count() > 0 || store.nextDueAt() !== undefined) loop.schedulePump();

  return {
    scope: config.scope,
    durable: store.durable,
    enqueue: (input) => intake.accept(input, true),
    refuse(error, delta) {
      try {
        return intake.refuse('invalid', error instanceof Error ? error : new DeltaValidationError('input', String(error)), delta);
      } catch {
        return { accepted: false, reason: 'invalid', error };
      }
    },
    emit(input) {
      const result = intake.accept(input, false);
      if (!result.accepted) return Promise.reject(result.error);
      if (result.skipped) return Promise.resolve({ referenceId: result.referenceId, deduplicated: false, attempts: 0, receipt: {}, skipped: result.skipped });
      const delivered = outcomes.awaitDelivery(result.referenceId);
      // Timers stay ref'd while an emit waits, so a script does not exit before its delta is delivered.
      loop.hurry();
      const relax = () => loop.relax();
      delivered.then(relax, relax);
      return delivered;
    },
    skip: (cause, delta) => intake.skip(cause, delta),
    flush: (flushOptions = {}) => drain.flush(flushOptions.timeoutMs, flushOptions.reportPending === true),
    close: (closeOptions = {}) => drain.close(closeOptions.timeoutMs),
    stats,
    async checkpoint(customerId, checkpointOptions = {}) {
      if (lifecycle.closed) throw new DeltaDroppedError('closed', 'the meter is closed; no checkpoint was requested');
      const retry = { ...DEFAULT_RETRY, baseDelayMs: config.retryBaseDelayMs, maxDelayMs: config.retryMaxDelayMs, maxRetryAfterMs: config.maxRetryAfterMs };
      const period = checkpointOptions.period ?? periodOf(now());
      return requestCheckpoint({ client, scope: config.scope, customerId, period, policy: retry, random, attemptTimeoutMs: config.attemptTimeoutMs, keepAlive: true });
    },
    verifyCredentials: (verifyOptions = {}) => verifyCredentials(client, verifyOptions.timeoutMs ?? config.attemptTimeoutMs),
    prepare: (input) => intake.prepare(input),
    balanceSource: () =>
      createBalanceSource({ client, tap: usage, store, now, dryRun: !enabled, timeoutMs: config.attemptTimeoutMs, maxAgeMs: config.maxRetryElapsedMs + config.attemptTimeoutMs + 60_000 }),
  };
}
