import { createBalanceSource } from './balance/balance-source.js';
import { requestCheckpoint } from './client/checkpoint.js';
import { verifyCredentials } from './client/credentials.js';
import { createPacSpaceClient, isBuiltInClient, type BalanceClient } from './client/client.js';
import { dryRunClient, dryRunReporter } from './client/dry-run-client.js';
import { DeltaDroppedError, DeltaValidationError } from './errors.js';
import { resolveLogger } from './reporting/logger.js';
import { MemoryStore } from './store/memory-store.js';
import { meterAccount } from './meter-account.js';
import { MeterEngine } from './meter-engine.js';
import type { Meter } from './meter-api.js';
import { createMeterEvents } from './reporting/meter-events.js';
import { resolveMeterConfig, type MeterOptions } from './options.js';
import { periodOf } from './periodic/interval.js';
import { DEFAULT_RETRY } from './delivery/retry.js';
import type { MeterStore, StoreIdentity } from './store/store.js';

export type { DeliveryReceipt, DeltaInput, EnqueueResult, Meter, SkippedDelta } from './meter-api.js';

/**
 * Creates a Meter. Validates every option at once and throws {@link MeteringConfigError} naming
 * the first bad one.
 *
 * The Meter is a few units with one job each: the intake (validate, freeze, queue or fold), the
 * store (where accepted deltas wait), the delivery loop (batches, requests, answers), the delta
 * outcomes (delivered, back to the queue, given up; hooks and `emit()` callers), the pauses (rate
 * limits, outages, per-customer cadence) and the drain (`flush`, `close`). {@link MeterEngine}
 * builds and owns them; this function resolves the options and shapes the public surface.
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
  const engine = new MeterEngine({ config, client, builtIn, ownClient: options.client === undefined, store, identity, events, now, random });
  const { intake, drain, lifecycle, usage } = engine;

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
      return engine.awaitDelivery(result.referenceId);
    },
    skip: (cause, delta) => intake.skip(cause, delta),
    flush: (flushOptions = {}) => drain.flush(flushOptions.timeoutMs, flushOptions.reportPending === true),
    close: (closeOptions = {}) => drain.close(closeOptions.timeoutMs),
    stats: () => engine.stats(),
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
