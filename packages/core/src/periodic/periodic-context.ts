import { createBatchSender, type BatchSender } from '../delivery/batch-sender.js';
import type { DeliveryMode } from '../delivery/batch.js';
import { createPacSpaceClient, isBuiltInClient, type BalanceClient } from '../client/client.js';
import { resolveLogger, type MeteringLogger } from '../reporting/logger.js';
import type { RetryPolicy } from '../delivery/retry.js';
import { callHook } from '../reporting/hook-guard.js';
import { resolvePeriodicConfig, type PeriodicConfig, type PeriodicMeterOptions } from './periodic-options.js';

/** Where an error reported to `onError` came from. */
export type ErrorStage = { stage: 'collect' | 'delivery' | 'checkpoint' | 'state' | 'hook'; window?: string; period?: string; hook?: string };

/** The user hooks a periodic meter calls with an event. */
export type PeriodicHookName = 'onWindow' | 'onWindowFailed' | 'onRetry' | 'onPeriodClosed';

/**
 * What every unit of a periodic meter shares, made once from the options: the checked config, the
 * client and the Meter's batch sender, the clock, the stop signal, and the guarded ways to tell the
 * user (hooks and `onError` can never break a run).
 *
 * @example
 * const ctx = createPeriodicContext(options);
 * ctx.hook('onWindow', report);
 */
export interface PeriodicContext {
  readonly options: PeriodicMeterOptions;
  readonly config: PeriodicConfig;
  readonly client: BalanceClient;
  /** True when the meter made its client (and closes it on `stop()`). */
  readonly ownClient: boolean;
  readonly sender: BatchSender;
  readonly mode: DeliveryMode;
  readonly logger: MeteringLogger;
  readonly clock: () => number;
  readonly random: () => number;
  readonly policy: RetryPolicy;
  /** Aborted by `stop()`: ends retry waits and runs. */
  readonly signal: AbortSignal;
  stop(): void;
  reportError(error: Error, context: ErrorStage): void;
  hook<E>(name: PeriodicHookName, event: E): void;
}

/**
 * Checks the options (throws {@link MeteringConfigError} naming the bad one) and builds the context.
 *
 * @example
 * const ctx = createPeriodicContext({ apiKey, collect });
 */
export function createPeriodicContext(options: PeriodicMeterOptions): PeriodicContext {
  const config = resolvePeriodicConfig(options);
  const client: BalanceClient = options.client ?? createPacSpaceClient({ apiKey: options.apiKey, baseUrl: options.baseUrl, timeoutMs: config.attemptTimeoutMs, maxSockets: 2 });
  const logger = resolveLogger(options.logger);
  const controller = new AbortController();
  const reportError = (error: Error, context: ErrorStage): void => {
    callHook(options.onError ? (e: Error) => options.onError!(e, context) : undefined, error, 'onError', logger);
  };
  return {
    options,
    config,
    client,
    ownClient: options.client === undefined,
    // The Meter's own sender: a window's requests, deadlines and verdicts are those of request deltas.
    sender: createBatchSender(client, isBuiltInClient(client) ? client : undefined, config.attemptTimeoutMs),
    mode: typeof client.balance.emitBatch === 'function' ? 'batch' : 'single',
    logger,
    clock: options.now ?? Date.now,
    random: options.random ?? Math.random,
    policy: config.policy,
    signal: controller.signal,
    stop: () => controller.abort(),
    reportError,
    hook<E>(name: PeriodicHookName, event: E): void {
      callHook(options[name] as ((e: E) => unknown) | undefined, event, name, logger, (error, context) => reportError(error, context));
    },
  };
}

/**
 * An epoch-ms time as the ISO 8601 string the state keeps.
 *
 * @example
 * iso(0); // -> '1970-01-01T00:00:00.000Z'
 */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
