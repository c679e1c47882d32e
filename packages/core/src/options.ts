import type { BalanceClient } from './client/client.js';
import { MeteringConfigError } from './errors.js';
import type { MeteringLogger } from './reporting/logger.js';
import type { MeterStore } from './store/store.js';
import type { TransportChoice } from './client/transport-choice.js';
import type { DeliveredEvent, DropEvent, ErrorContext, RetryEvent } from './reporting/events.js';

/**
 * Options of {@link createMeter}. Give `client` (an SDK-shaped client), or `apiKey`/`baseUrl`
 * for the built-in HTTP client. Every option may be `undefined` (its default), so
 * `apiKey: process.env.PACSPACE_API_KEY` compiles under `exactOptionalPropertyTypes`.
 *
 * @example
 * const options: MeterOptions = { apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api', flushIntervalMs: 500 };
 */
export interface MeterOptions {
  /**
   * `false`: nothing is sent anywhere and no API key is needed (local development, tests without
   * PacSpace): deltas are validated, queued and batched exactly as usual, then answered at once as
   * recorded by an in-process stand-in (receipts say `dryRun: true`), so `stats()`, hooks and
   * `emit()` behave as they would. Said once at warn level when the Meter starts, so it cannot go
   * unnoticed in production. Default: `true`.
   */
  enabled?: boolean | undefined;
  /** An SDK-shaped client, e.g. `new PacSpace({ apiKey })`. Wins over `apiKey`/`baseUrl`. */
  client?: BalanceClient | undefined;
  /** For the built-in client. Default: `process.env.PACSPACE_API_KEY`. */
  apiKey?: string | undefined;
  /** For the built-in client. Default: `process.env.PACSPACE_BASE_URL`, else `https://app.pacspace.io`. */
  baseUrl?: string | undefined;
  /**
   * The built-in client's HTTP client: `'node'` (node:http/https with a keep-alive agent),
   * `'fetch'` (the global `fetch`), or `'auto'`: node:http on Node.js, `fetch` on Bun, Deno,
   * Cloudflare Workers and edge runtimes. Default: `'auto'`.
   */
  transport?: TransportChoice | undefined;
  /** First segment of every referenceId: 1-64 characters of `[A-Za-z0-9_.-]`. Default: `'metering'`. */
  scope?: string | undefined;
  /**
   * A stable name for the PacSpace account this Meter bills into (1-128 printable characters, no
   * spaces), e.g. `'acme-live'`. A durable store tags every delta it keeps with the Meter's
   * `scope` and `account`, and delivers it only from a Meter with the same two, so two services
   * (or two accounts) sharing a database never deliver each other's usage. Default: a fingerprint
   * of the API key (`key:` and 16 hex digits of its SHA-256; never the key), which a new key
   * changes: set `account` before rotating keys, or give it to an SDK-shaped client (default
   * `'sdk-client'`, its key being invisible to the Meter).
   */
  account?: string | undefined;
  /** Deltas held in memory at most (queued, waiting to retry and in flight); a durable store keeps the rest. Default: 10000. */
  maxQueueSize?: number | undefined;
  /** Bytes of serialized deltas held in memory at most. Default: 16 MiB. */
  maxQueueBytes?: number | undefined;
  /** Largest serialized delta accepted, in bytes. Default: 32 KiB. */
  maxDeltaBytes?: number | undefined;
  /** Requests to PacSpace in flight at most (each carries up to `maxBatchSize` deltas). Default: 8. */
  concurrency?: number | undefined;
  /**
   * How deltas travel. `'batch'` (the default): up to `maxBatchSize` deltas per request through
   * `POST /api/v1/balance/delta/batch` (an SDK-shaped client's `balance.emitBatch`), each with its own
   * referenceId and per-item result. `'single'`: one `POST /api/v1/balance/delta` per delta, keyed by
   * its referenceId. An SDK-shaped client without `emitBatch` always gets `'single'`.
   */
  delivery?: 'batch' | 'single' | undefined;
  /** Deltas per batch request at most, 1-100. Default: 100 (PacSpace's batch limit). */
  maxBatchSize?: number | undefined;
  /** Bytes of one batch request's body at most. Default: 512 KiB; at least `maxDeltaBytes` + 64. */
  maxBatchBytes?: number | undefined;
  /**
   * How long a delta may wait for others to share its batch request: a batch goes out when it is
   * full, when its oldest delta has waited this long, or at once while a `flush()`, `close()` or
   * `emit()` waits. 0 sends whatever is queued as soon as a request slot is free. Default: 1000 ms.
   */
  flushIntervalMs?: number | undefined;
  /**
   * What happens to a delta when the queue is full (`maxQueueSize` or `maxQueueBytes`). `'fold'`
   * (the default): it is added to a running sum per (customer, reason), delivered later as one
   * delta with its own instance-safe referenceId, so the amount is billed even when per-request
   * detail cannot be kept; with a durable store (the store is the queue) it is kept whole in the
   * store instead, as durably as any delta. `'drop'`: it is refused as `queue_full`.
   */
  overflow?: 'fold' | 'drop' | undefined;
  /** Open overflow sums (customer, reason pairs) held at most; beyond, deltas are dropped as `queue_full`. Default: 10000. */
  maxOverflowSums?: number | undefined;
  /** Absolute deadline of one attempt (connect, headers, body). Default: 10000 ms. */
  attemptTimeoutMs?: number | undefined;
  /** Attempts per delta at most, the first included. Default: 200. */
  maxAttempts?: number | undefined;
  /**
   * Time from acceptance after which a delta is no longer retried. Keep it well under PacSpace's
   * idempotency-key lifetime (assumed 24 h), or a late retry could count twice. Default: 6 h.
   */
  maxRetryElapsedMs?: number | undefined;
  /** First backoff step. Default: 250 ms. */
  retryBaseDelayMs?: number | undefined;
  /**
   * Largest backoff step; also how long a batching Meter delivers one delta per request, after
   * PacSpace answered that it has no batch endpoint, before it tries a batch again (twice as long
   * each time PacSpace says it again, up to an hour). Default: 60000 ms.
   */
  retryMaxDelayMs?: number | undefined;
  /** Largest server retry hint honoured. Default: 3600000 ms (1 h). */
  maxRetryAfterMs?: number | undefined;
  /** Where accepted deltas wait. Default: a new `MemoryStore`. */
  store?: MeterStore | undefined;
  /** Called once per delta that reached PacSpace (new or replayed). */
  onDelivered?: ((event: DeliveredEvent) => void) | undefined;
  /** Called before each retry is scheduled. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Called once per delta that will never be delivered, with the reason. */
  onDrop?: ((event: DropEvent) => void) | undefined;
  /** Called for every error: refused input, permanent API errors, 409 integrity errors, failing hooks. */
  onError?: ((error: Error, context: ErrorContext) => void) | undefined;
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

/** Every option name of {@link MeterOptions}, so typos in JavaScript callers are caught. */
export const METER_OPTION_NAMES: ReadonlyArray<keyof MeterOptions> = Object.freeze([
  'enabled', 'client', 'apiKey', 'baseUrl', 'transport', 'scope', 'account', 'maxQueueSize', 'maxQueueBytes', 'maxDeltaBytes', 'concurrency', 'delivery', 'maxBatchSize',
  'maxBatchBytes', 'flushIntervalMs', 'overflow', 'maxOverflowSums', 'attemptTimeoutMs',
  'maxAttempts', 'maxRetryElapsedMs', 'retryBaseDelayMs', 'retryMaxDelayMs', 'maxRetryAfterMs', 'store', 'onDelivered',
  'onRetry', 'onDrop', 'onError', 'logger', 'now', 'random',
] satisfies Array<keyof MeterOptions>);

/** The resolved configuration: every default applied, every value checked. */
export interface MeterConfig {
  scope: string;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxDeltaBytes: number;
  concurrency: number;
  delivery: 'batch' | 'single';
  maxBatchSize: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  overflow: 'fold' | 'drop';
  maxOverflowSums: number;
  attemptTimeoutMs: number;
  maxAttempts: number;
  maxRetryElapsedMs: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  maxRetryAfterMs: number;
}

const SCOPE = /^[A-Za-z0-9_.-]{1,64}$/;
const ACCOUNT = /^[\x21-\x7e]{1,128}$/;
/** PacSpace's documented (and the SDK's) ceiling of deltas per batch request. */
export const MAX_BATCH_SIZE = 100;
/** Room for `{"deltas":[` ... `]}` around the items of a batch body. */
export const BATCH_ENVELOPE_BYTES = 64;

/** Checks options and applies defaults; throws {@link MeteringConfigError} naming the bad option. */
export function resolveMeterConfig(options: MeterOptions): MeterConfig {
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object');
  assertKnownOptions(options, METER_OPTION_NAMES, '');
  const scope = options.scope ?? 'metering';
  if (typeof scope !== 'string' || !SCOPE.test(scope)) throw new MeteringConfigError('scope', `must be 1-64 characters of letters, digits, '_', '-', '.' (got ${JSON.stringify(scope)})`);
  if (options.account !== undefined && (typeof options.account !== 'string' || !ACCOUNT.test(options.account))) {
    throw new MeteringConfigError('account', `must be 1-128 printable characters without spaces (got ${JSON.stringify(options.account)})`);
  }
  for (const hook of ['onDelivered', 'onRetry', 'onDrop', 'onError', 'now', 'random'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') throw new MeteringConfigError(hook, 'must be a function');
  }
  if (options.enabled !== undefined && typeof options.enabled !== 'boolean') throw new MeteringConfigError('enabled', `must be true or false (got ${JSON.stringify(options.enabled)})`);
  if (options.client !== undefined && typeof options.client?.balance?.emit !== 'function') {
    throw new MeteringConfigError('client', 'must have balance.emit(customerId, delta, reason, options), like the @pacspace-io/sdk client');
  }
  if (options.logger !== undefined && !['debug', 'info', 'warn', 'error'].every((l) => typeof (options.logger as unknown as Record<string, unknown>)?.[l] === 'function')) {
    throw new MeteringConfigError('logger', 'must have debug, info, warn and error methods (pino-compatible)');
  }
  if (options.transport !== undefined) oneOf(options.transport, 'auto', ['auto', 'node', 'fetch'], 'transport');
  const config: MeterConfig = {
    scope,
    maxQueueSize: int(options.maxQueueSize, 10_000, 'maxQueueSize', 1),
    maxQueueBytes: int(options.maxQueueBytes, 16 * 1024 * 1024, 'maxQueueBytes', 1024),
    maxDeltaBytes: int(options.maxDeltaBytes, 32 * 1024, 'maxDeltaBytes', 256),
    concurrency: int(options.concurrency, 8, 'concurrency', 1, 1024),
    delivery: oneOf(options.delivery, 'batch', ['batch', 'single'], 'delivery'),
    maxBatchSize: int(options.maxBatchSize, MAX_BATCH_SIZE, 'maxBatchSize', 1, MAX_BATCH_SIZE),
    maxBatchBytes: int(options.maxBatchBytes, 512 * 1024, 'maxBatchBytes', 1024),
    flushIntervalMs: int(options.flushIntervalMs, 1000, 'flushIntervalMs', 0, 60_000),
    overflow: oneOf(options.overflow, 'fold', ['fold', 'drop'], 'overflow'),
    maxOverflowSums: int(options.maxOverflowSums, 10_000, 'maxOverflowSums', 1),
    attemptTimeoutMs: int(options.attemptTimeoutMs, 10_000, 'attemptTimeoutMs', 1),
    maxAttempts: int(options.maxAttempts, 200, 'maxAttempts', 1),
    maxRetryElapsedMs: int(options.maxRetryElapsedMs, 6 * 60 * 60 * 1000, 'maxRetryElapsedMs', 1),
    retryBaseDelayMs: int(options.retryBaseDelayMs, 250, 'retryBaseDelayMs', 1),
    retryMaxDelayMs: int(options.retryMaxDelayMs, 60_000, 'retryMaxDelayMs', 1),
    maxRetryAfterMs: int(options.maxRetryAfterMs, 60 * 60 * 1000, 'maxRetryAfterMs', 0),
  };
  if (config.maxDeltaBytes > config.maxQueueBytes) throw new MeteringConfigError('maxDeltaBytes', 'must not exceed maxQueueBytes');
  if (config.maxBatchBytes < config.maxDeltaBytes + BATCH_ENVELOPE_BYTES) throw new MeteringConfigError('maxBatchBytes', `must be at least maxDeltaBytes + ${BATCH_ENVELOPE_BYTES} (${config.maxDeltaBytes + BATCH_ENVELOPE_BYTES})`);
  if (config.retryMaxDelayMs < config.retryBaseDelayMs) throw new MeteringConfigError('retryMaxDelayMs', 'must be at least retryBaseDelayMs');
  return config;
}

/** Throws {@link MeteringConfigError} for an option name that is not in `known`. */
export function assertKnownOptions(options: object, known: readonly string[], prefix: string): void {
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) {
      throw new MeteringConfigError(prefix + name, `is not an option; allowed: ${known.join(', ')}`);
    }
  }
}

/** `value`, or `fallback` when undefined; throws {@link MeteringConfigError} naming `option` unless it is one of `allowed`. */
export function oneOf<T extends string>(value: unknown, fallback: T, allowed: readonly T[], option: string): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new MeteringConfigError(option, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')} (got ${JSON.stringify(value)})`);
  return value as T;
}

/** `value`, or `fallback` when undefined; throws {@link MeteringConfigError} naming `option` unless it is an integer in [min, max]. */
export function int(value: unknown, fallback: number, option: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new MeteringConfigError(option, `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return value;
}
