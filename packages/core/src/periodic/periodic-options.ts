import { join } from 'node:path';
import type { BalanceClient } from '../client/client.js';
import { MeteringConfigError, type MeteringError } from '../errors.js';
import type { MeteringLogger } from '../reporting/logger.js';
import type { DrainReport } from '../reporting/stats.js';
import { assertKnownOptions } from '../options.js';
import { parseInterval, type IntervalSpec } from './interval.js';
import type { SentTally } from './reconcile.js';
import { resolveRetry, type RetryOptions, type RetryPolicy } from '../delivery/retry.js';
import type { UsageSnapshot } from './snapshots.js';
import type { FailedItem, PeriodicStateStore } from './state-store.js';
import type { CheckpointReceipt } from '../client/checkpoint.js';

/**
 * The window `collect` is asked about: `[start, end)`, UTC-aligned.
 *
 * @example
 * collect: async ({ start, end }: CollectWindow) => db.usageBetween(start, end)
 */
export interface CollectWindow {
  /** Inclusive start. */
  start: Date;
  /** Exclusive end. */
  end: Date;
  /** The window's stable name, e.g. `20250301T130000Z.3600s`. */
  key: string;
  /** The UTC month the window belongs to, `YYYY-MM`. */
  period: string;
}

/**
 * Passed to `onWindow` for each delivered window.
 *
 * @example
 * createPeriodicMeter({ ..., onWindow: (r: WindowReport) => log.info(`${r.key}: ${r.delivered} items, ${r.replayed} replayed`) });
 */
export interface WindowReport {
  start: Date;
  end: Date;
  key: string;
  period: string;
  /** Items sent (snapshots with a non-zero delta). */
  items: number;
  /** Snapshots with delta 0, left out. */
  skipped: number;
  /** Items PacSpace has, new or replayed (all of them once the window is delivered). */
  delivered: number;
  /** Of those, items PacSpace already had from an earlier attempt (`idempotent: true`). */
  replayed: number;
  /** Net delta of the window. */
  total: number;
  /** HTTP requests this run sent for the window (retries included). */
  requests: number;
  /** Key rounds used in this run (1 unless items were refused for now inside a 2xx answer). */
  rounds: number;
}

/**
 * Passed to `onWindowFailed`; also `report.failure`. The meter stays on this window.
 *
 * @example
 * createPeriodicMeter({ ..., onWindowFailed: (f: WindowFailure) => page(`${f.key} failed: ${f.code}`, f.items) });
 */
export interface WindowFailure {
  start: Date;
  end: Date;
  key: string;
  /** `INVALID_SNAPSHOT`, `DUPLICATE_SNAPSHOT`, `ITEMS_REJECTED`, `IDEMPOTENCY_CONFLICT`, or PacSpace's code (`INVALID_API_KEY`, ...). */
  code: string;
  error: MeteringError;
  /** Items PacSpace refused one by one, with their error codes (empty when the whole request was refused). */
  items: FailedItem[];
}

/**
 * Passed to `onRetry`.
 *
 * @example
 * createPeriodicMeter({ ..., onRetry: (e: PeriodicRetryEvent) => log.warn(`${e.key} attempt ${e.attempt}: ${e.error.message}`) });
 */
export interface PeriodicRetryEvent {
  start: Date;
  end: Date;
  key: string;
  /** Failed attempts in this run. */
  attempt: number;
  delayMs: number;
  error: Error;
}

/**
 * What `closePeriod` (or the automatic close) did.
 *
 * @example
 * const { checkpoints, errors }: PeriodCloseReport = await periodic.closePeriod('2025-03');
 */
export interface PeriodCloseReport {
  period: string;
  /** One per checkpoint requested (one for all customers, or one per listed customer). */
  checkpoints: CheckpointReceipt[];
  /** Customers whose checkpoint PacSpace refused for good (e.g. 404: no deltas), with the error. */
  errors: Array<{ customerId: string | null; error: Error }>;
  /** The flush report of each meter drained first. */
  drained: DrainReport[];
  /** True when the period had been closed before: nothing was requested again. */
  alreadyClosed: boolean;
}

/**
 * How a period is closed: which meters to drain first, which customers to checkpoint.
 *
 * @example
 * await periodic.closePeriod('2025-03', { drain: [meter], drainTimeoutMs: 30_000, customerIds: ['acme', 'globex'] });
 */
export interface ClosePeriodOptions {
  /** Meters (or aggregating meters) whose queues are drained (`flush`) before the checkpoint. Default: none. */
  drain?: ReadonlyArray<{ flush(options?: { timeoutMs?: number }): Promise<DrainReport> }> | undefined;
  /** Timeout of each drain; a drain that times out stops the close (retried later). Default: 60000 ms. */
  drainTimeoutMs?: number | undefined;
  /** Customers to checkpoint one by one, or a function of the period giving them. Default: one checkpoint for all customers. */
  customerIds?: (readonly string[] | ((period: string) => readonly string[] | Promise<readonly string[]>)) | undefined;
}

/**
 * Options of {@link createPeriodicMeter}.
 *
 * @example
 * const options: PeriodicMeterOptions = { apiKey, scope: 'storage-api', interval: '6h', statePath: './periodic.json', collect };
 */
export interface PeriodicMeterOptions {
  /** An SDK-shaped client; `balance.emitBatch` is used when present, else `balance.emit` per item. Wins over `apiKey`/`baseUrl`. */
  client?: BalanceClient | undefined;
  /** For the built-in client. Default: `process.env.PACSPACE_API_KEY`. */
  apiKey?: string | undefined;
  /** For the built-in client. Default: `process.env.PACSPACE_BASE_URL`, else `https://app.pacspace.io`. */
  baseUrl?: string | undefined;
  /** First segment of every referenceId and key: 1-64 characters of `[A-Za-z0-9_.-]`. Default: `'metering'`. */
  scope?: string | undefined;
  /** This job's name, in every referenceId and key: 1-32 characters of `[A-Za-z0-9_-]`. Two periodic meters of one scope need different names. Default: `'periodic'`. */
  name?: string | undefined;
  /** Window length: `'1h'`, `'6h'`, `'24h'`, ... or milliseconds; must divide 24 h. Default: `'1h'`. */
  interval?: IntervalSpec | undefined;
  /** Returns the usage of a window; sync or async. Called once per window (its result is frozen and persisted until delivered). Required. */
  collect: (window: CollectWindow) => readonly UsageSnapshot[] | Promise<readonly UsageSnapshot[]>;
  /** Path of the default JSON state file. Default: `.pacspace-metering/{scope}.{name}.json` under the working directory. */
  statePath?: string | undefined;
  /** Your own state store instead of the JSON file (`statePath` and `stateStore` exclude each other). */
  stateStore?: PeriodicStateStore | undefined;
  /** With no saved state, the start of the first window (epoch ms or Date, on an interval boundary). Default: the start of the current window. */
  startAt?: number | Date | undefined;
  /** Wait this long after a window ends before collecting it, for late data. Default: 0. */
  delayMs?: number | undefined;
  /** Items per batch request, 1-100. Default: 100 (the endpoint's limit). */
  maxBatchSize?: number | undefined;
  /** Absolute deadline of one request. Default: 30000 ms. */
  attemptTimeoutMs?: number | undefined;
  /** Backoff of transient failures; `maxAttempts` is per window and run, after which the run ends and the window is retried later with the same keys. */
  retry?: RetryOptions | undefined;
  /** Close each month automatically once its last window is delivered (drain, then checkpoint once). Default: false. */
  closePeriods?: boolean | ClosePeriodOptions | undefined;
  /** Records every delivered item, for `reconcile`. */
  tally?: SentTally | undefined;
  /** Called once per delivered window. */
  onWindow?: ((report: WindowReport) => void) | undefined;
  /** Called once when a window fails for good. */
  onWindowFailed?: ((failure: WindowFailure) => void) | undefined;
  /** Called before each retry wait. */
  onRetry?: ((event: PeriodicRetryEvent) => void) | undefined;
  /** Called once per closed period. */
  onPeriodClosed?: ((report: PeriodCloseReport) => void) | undefined;
  /** Called for every error: failed windows, collect throwing, checkpoint failures, state store failures, throwing hooks. */
  onError?: ((error: Error, context: { stage: 'collect' | 'delivery' | 'checkpoint' | 'state' | 'hook'; window?: string; period?: string; hook?: string }) => void) | undefined;
  /**
   * A pino-compatible logger. Default: losses and failures (warn, error) are written to the
   * process's stderr as Node warnings (code `PACSPACE_METERING`), each kind at most once a minute
   * with a count of repeats; routine work is not logged. `silentLogger` turns that off.
   */
  logger?: MeteringLogger | undefined;
  /** Clock, for tests. Default: `Date.now`. */
  now?: (() => number) | undefined;
  /** Random source in [0, 1), for tests. Default: `Math.random`. */
  random?: (() => number) | undefined;
}

/**
 * Every option name of {@link PeriodicMeterOptions}.
 *
 * @example
 * PERIODIC_OPTION_NAMES.includes('interval'); // true
 */
export const PERIODIC_OPTION_NAMES: ReadonlyArray<keyof PeriodicMeterOptions> = Object.freeze([
  'client', 'apiKey', 'baseUrl', 'scope', 'name', 'interval', 'collect', 'statePath', 'stateStore', 'startAt', 'delayMs', 'maxBatchSize',
  'attemptTimeoutMs', 'retry', 'closePeriods', 'tally', 'onWindow', 'onWindowFailed', 'onRetry', 'onPeriodClosed', 'onError', 'logger', 'now', 'random',
] satisfies Array<keyof PeriodicMeterOptions>);

/**
 * The checked configuration.
 *
 * @example
 * const { intervalMs, policy }: PeriodicConfig = resolvePeriodicConfig({ collect, interval: '1h' });
 */
export interface PeriodicConfig {
  scope: string;
  name: string;
  intervalMs: number;
  startAt: number | undefined;
  delayMs: number;
  maxBatchSize: number;
  attemptTimeoutMs: number;
  policy: RetryPolicy;
  statePath: string | undefined;
  closePeriods: ClosePeriodOptions | undefined;
}

const SCOPE = /^[A-Za-z0-9_.-]{1,64}$/;
const NAME = /^[A-Za-z0-9_-]{1,32}$/;
const CLOSE_OPTION_NAMES = ['drain', 'drainTimeoutMs', 'customerIds'];

/**
 * Checks options and applies defaults; throws {@link MeteringConfigError} naming the bad option.
 *
 * @example
 * resolvePeriodicConfig({ collect, interval: '7h' }); // throws MeteringConfigError { option: 'interval' }
 */
export function resolvePeriodicConfig(options: PeriodicMeterOptions): PeriodicConfig {
  const problem = (option: string, message: string): never => {
    throw new MeteringConfigError(option, message);
  };
  if (options === null || typeof options !== 'object') problem('options', 'must be an object');
  assertKnownOptions(options, PERIODIC_OPTION_NAMES, '');
  const scope = options.scope ?? 'metering';
  if (typeof scope !== 'string' || !SCOPE.test(scope)) problem('scope', `must be 1-64 characters of letters, digits, '_', '-', '.' (got ${JSON.stringify(scope)})`);
  const name = options.name ?? 'periodic';
  if (typeof name !== 'string' || !NAME.test(name)) problem('name', `must be 1-32 characters of letters, digits, '_', '-' (got ${JSON.stringify(name)})`);
  if (typeof options.collect !== 'function') problem('collect', 'is required: a function ({ start, end }) => snapshots[] (sync or async)');
  for (const hook of ['onWindow', 'onWindowFailed', 'onRetry', 'onPeriodClosed', 'onError', 'now', 'random'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') problem(hook, 'must be a function');
  }
  if (options.client !== undefined) {
    const balance = (options.client as BalanceClient | null)?.balance;
    if (typeof balance?.emitBatch !== 'function' && typeof balance?.emit !== 'function') problem('client', 'must have balance.emitBatch(deltas, { idempotencyKey }) or balance.emit(...), like the @pacspace-io/sdk client');
  }
  if (options.logger !== undefined && !['debug', 'info', 'warn', 'error'].every((l) => typeof (options.logger as unknown as Record<string, unknown>)?.[l] === 'function')) {
    problem('logger', 'must have debug, info, warn and error methods (pino-compatible)');
  }
  if (options.statePath !== undefined && options.stateStore !== undefined) problem('stateStore', 'give statePath or stateStore, not both');
  if (options.statePath !== undefined && (typeof options.statePath !== 'string' || options.statePath.length === 0)) problem('statePath', 'must be a file path');
  if (options.stateStore !== undefined && (typeof options.stateStore?.load !== 'function' || typeof options.stateStore?.save !== 'function')) problem('stateStore', 'must have load() and save(state)');
  if (options.tally !== undefined && typeof options.tally?.record !== 'function') problem('tally', 'must be a SentTally from createSentTally()');
  const intervalMs = parseInterval(options.interval ?? '1h', 'interval');
  let startAt: number | undefined;
  if (options.startAt !== undefined) {
    startAt = options.startAt instanceof Date ? options.startAt.getTime() : options.startAt;
    if (typeof startAt !== 'number' || !Number.isFinite(startAt) || startAt % intervalMs !== 0) problem('startAt', `must be an epoch-ms number or Date on an interval boundary (a multiple of ${intervalMs} ms since the epoch)`);
  }
  const int = (option: keyof PeriodicMeterOptions, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) problem(option, `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
    return value as number;
  };
  return {
    scope,
    name,
    intervalMs,
    startAt,
    delayMs: int('delayMs', options.delayMs, 0, 0, 7 * 86_400_000),
    maxBatchSize: int('maxBatchSize', options.maxBatchSize, 100, 1, 100),
    attemptTimeoutMs: int('attemptTimeoutMs', options.attemptTimeoutMs, 30_000, 1),
    policy: resolveRetry(options.retry, problem),
    statePath: options.stateStore === undefined ? (options.statePath ?? join(process.cwd(), '.pacspace-metering', `${scope}.${name}.json`)) : undefined,
    closePeriods: resolveClosePeriodOptions(options.closePeriods, 'closePeriods'),
  };
}

/**
 * Checks {@link ClosePeriodOptions} (or `true`/`false`); throws naming `{prefix}.{field}`.
 *
 * @example
 * resolveClosePeriodOptions({ drain: [meter] }, 'closePeriods'); // -> { drain: [meter] }
 * resolveClosePeriodOptions(true, 'closePeriods'); // -> {}
 */
export function resolveClosePeriodOptions(value: unknown, prefix: string): ClosePeriodOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (value === null || typeof value !== 'object') throw new MeteringConfigError(prefix, 'must be true, false or { drain, drainTimeoutMs, customerIds }');
  assertKnownOptions(value, CLOSE_OPTION_NAMES, `${prefix}.`);
  const close = value as ClosePeriodOptions;
  if (close.drain !== undefined && (!Array.isArray(close.drain) || !close.drain.every((m) => typeof m?.flush === 'function'))) {
    throw new MeteringConfigError(`${prefix}.drain`, 'must be an array of meters (objects with flush())');
  }
  if (close.drainTimeoutMs !== undefined && (!Number.isInteger(close.drainTimeoutMs) || close.drainTimeoutMs < 0)) {
    throw new MeteringConfigError(`${prefix}.drainTimeoutMs`, 'must be a non-negative integer of milliseconds');
  }
  if (close.customerIds !== undefined && typeof close.customerIds !== 'function' && !(Array.isArray(close.customerIds) && close.customerIds.every((c) => typeof c === 'string'))) {
    throw new MeteringConfigError(`${prefix}.customerIds`, 'must be an array of customer ids or a function (period) => customer ids');
  }
  return close;
}
