import { randomUUID } from 'node:crypto';
import { retryDelay } from './backoff.js';
import { classifyAnswer, classifyError, classifyResult, type Verdict } from './classify.js';
import { createPacSpaceClient, isBuiltInClient, type BalanceClient } from './client.js';
import { DeadlineQueue } from './deadline-queue.js';
import { DeltaDroppedError, DeltaValidationError, MeteringError, PacSpaceApiError } from './errors.js';
import type { DropReason, ErrorContext } from './events.js';
import { safeLogger, silentLogger } from './logger.js';
import { MemoryStore } from './memory-store.js';
import { resolveMeterConfig, type MeterOptions } from './options.js';
import { buildReferenceId } from './reference-id.js';
import { newCounters, sum, type CloseReport, type Counters, type DrainReport, type MeterStats } from './stats.js';
import type { MeterStore, QueuedDelta } from './store.js';
import { assertCustomerId, assertDelta, assertMetadata, assertReason, assertReferenceId, serializeDelta, type DeltaFields } from './validation.js';
import { requestCheckpoint, type CheckpointOptions, type CheckpointReceipt } from './periodic/checkpoint.js';
import { periodOf } from './periodic/interval.js';
import { DEFAULT_RETRY } from './periodic/retry.js';

/** A usage record to send. */
export interface DeltaInput {
  /** Who pays: 1-128 characters of `[A-Za-z0-9_.:-]`. */
  customerId: string;
  /** Balance change: finite, non-zero, within ±1e9 (negative consumes). */
  delta: number;
  /** Why: 1-500 characters. Also the operation segment of a generated referenceId. */
  reason: string;
  /** Your own referenceId (1-512 characters of `[A-Za-z0-9_.:~-]`). Wins over `requestId`. */
  referenceId?: string;
  /** The request (or job) this delta belongs to; the referenceId is built from it. Default: a fresh UUID. */
  requestId?: string;
  /** Free key/value map, serialized once at acceptance. */
  metadata?: Record<string, unknown>;
}

/** What `enqueue` answers: accepted with its referenceId, or refused with a reason and a typed error. */
export type EnqueueResult = { accepted: true; referenceId: string } | { accepted: false; reason: DropReason; error: Error; referenceId?: string };

/** What `emit` resolves to once PacSpace has the delta. */
export interface DeliveryReceipt {
  referenceId: string;
  /** True when PacSpace answered with the replay of an earlier, committed attempt. */
  deduplicated: boolean;
  attempts: number;
  /** PacSpace's receipt (`recordId`, `receiptId`, `status`, ...). */
  receipt: Record<string, unknown>;
}

/** The Meter: a bounded, retrying, never-blocking delivery queue for usage deltas. */
export interface Meter {
  /** The scope every generated referenceId starts with. */
  readonly scope: string;
  /**
   * Accepts a delta for background delivery. Synchronous, O(1), never throws, no network I/O (a
   * durable store writes the delta to its file before `enqueue` returns).
   */
  enqueue(input: DeltaInput): EnqueueResult;
  /**
   * Sends a delta through the same queue and waits until PacSpace has it; rejects with the typed
   * error otherwise. The delta is accepted (validated and stored, durably with a durable store)
   * before `emit` returns: only delivery is awaited.
   */
  emit(input: DeltaInput): Promise<DeliveryReceipt>;
  /** Waits until everything queued, in flight and waiting to retry is settled, or `timeoutMs` passes. Concurrent calls share the drain. */
  flush(options?: { timeoutMs?: number }): Promise<DrainReport>;
  /** Stops intake, drains for up to `timeoutMs` (default 30000), and reports what was left. Idempotent. */
  close(options?: { timeoutMs?: number }): Promise<CloseReport>;
  /** Counters and gauges. */
  stats(): MeterStats;
  /**
   * Refuses a delta the caller could not build (a resolver threw, a value was missing), exactly as
   * an invalid `enqueue` is refused: counted in `stats().dropped.invalid`, handed to `onDrop` and
   * `onError`. Used by the framework packages; never throws.
   *
   * @example
   * meter.refuse(new DeltaValidationError('customerId', 'the customerId resolver threw: no user'), { reason: 'api_request' });
   */
  refuse(error: Error, delta?: Partial<DeltaInput>): EnqueueResult;
  /**
   * Asks PacSpace for a checkpoint of one customer, or of all customers when `customerId` is
   * omitted, over a UTC month (`options.period`, `YYYY-MM`; default: the current month). Idempotent:
   * the Idempotency-Key is derived from the scope, customer and period, and the API answers a
   * repeated scope with the first checkpoint. Transient failures are retried (8 attempts at most,
   * the meter's backoff); rejects with the permanent or last error, or at once after `close()`.
   *
   * @example
   * const { checkpointId, deduplicated } = await meter.checkpoint('acme', { period: '2025-03' });
   */
  checkpoint(customerId?: string, options?: CheckpointOptions): Promise<CheckpointReceipt>;
}

const DELTA_PATH = '/api/v1/balance/delta';
/** Consecutive transient failures, with no success between them, after which the whole meter backs off. */
const OUTAGE_THRESHOLD = 5;

interface Waiter {
  resolve(receipt: DeliveryReceipt): void;
  reject(error: Error): void;
}

/**
 * Creates a Meter. Validates every option at once and throws {@link MeteringConfigError} naming
 * the first bad one.
 *
 * @example
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * meter.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: req.id });
 * await meter.close({ timeoutMs: 10_000 });
 */
export function createMeter(options: MeterOptions = {}): Meter {
  const config = resolveMeterConfig(options);
  const client: BalanceClient = options.client ?? createPacSpaceClient({ apiKey: options.apiKey, baseUrl: options.baseUrl, timeoutMs: config.attemptTimeoutMs, maxSockets: config.concurrency });
  const ownClient = options.client === undefined;
  const builtIn = isBuiltInClient(client) ? client : undefined;
  const store: MeterStore = options.store ?? new MemoryStore();
  const logger = safeLogger(options.logger);
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const policy = { baseDelayMs: config.retryBaseDelayMs, maxDelayMs: config.retryMaxDelayMs, maxRetryAfterMs: config.maxRetryAfterMs };

  const counters: Counters = newCounters();
  const waiters = new Map<string, Waiter[]>();
  const customerPauses = new Map<string, number>();
  const drainWaiters = new Set<() => void>();
  let inFlight = 0;
  let pausedUntil = 0;
  let transientStreak = 0;
  let seq = 0;
  let closed = false;
  let stopped = false;
  let pumpScheduled = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let wakeAt = Infinity;
  let closing: Promise<CloseReport> | undefined;
  let queueFullError: DeltaDroppedError | undefined;
  let closedError: DeltaDroppedError | undefined;
  /** One timer for every SDK attempt's deadline (the built-in client keeps its own per socket). */
  let sdkDeadlines: DeadlineQueue | undefined;

  // ---- hooks: never let user code break delivery, never leave a promise unhandled ----
  function callHook<T>(name: 'onDelivered' | 'onRetry' | 'onDrop', event: T): void {
    const hook = options[name] as ((e: T) => unknown) | undefined;
    if (!hook) return;
    try {
      const returned = hook(event);
      if (returned && typeof (returned as Promise<unknown>).then === 'function') (returned as Promise<unknown>).then(undefined, (err) => hookFailed(name, err));
    } catch (err) {
      hookFailed(name, err);
    }
  }
  function hookFailed(name: string, err: unknown): void {
    logger.error({ err, hook: name }, `pacspace-metering: the ${name} hook threw`);
    reportError(err instanceof Error ? err : new Error(String(err)), { stage: 'hook' });
  }
  function reportError(error: Error, context: ErrorContext): void {
    if (!options.onError) return;
    try {
      const returned = options.onError(error, context) as unknown;
      if (returned && typeof (returned as Promise<unknown>).then === 'function') (returned as Promise<unknown>).then(undefined, (err) => logger.error({ err }, 'pacspace-metering: the onError hook threw'));
    } catch (err) {
      logger.error({ err }, 'pacspace-metering: the onError hook threw');
    }
  }

  // ---- intake ----
  function refuse(reason: DropReason, error: Error, input?: Partial<DeltaInput>, referenceId?: string): EnqueueResult {
    counters.dropped[reason] = (counters.dropped[reason] ?? 0) + 1;
    const customerId = typeof input?.customerId === 'string' ? input.customerId : undefined;
    const delta = typeof input?.delta === 'number' ? input.delta : undefined;
    logger.warn({ reason, referenceId, customerId, err: error }, `pacspace-metering: delta refused (${reason})`);
    callHook('onDrop', { reason, referenceId, customerId, delta, attempts: 0, error });
    if (reason === 'invalid') reportError(error, { stage: 'intake', referenceId, customerId });
    return { accepted: false, reason, error, ...(referenceId ? { referenceId } : {}) };
  }

  function intake(input: DeltaInput): EnqueueResult {
    if (closed) {
      closedError ??= new DeltaDroppedError('closed', 'the meter is closed; the delta was not accepted');
      return refuse('closed', closedError, input);
    }
    let fields: DeltaFields;
    let body: string;
    try {
      if (input === null || typeof input !== 'object') throw new DeltaValidationError('input', 'must be an object with customerId, delta and reason');
      assertCustomerId(input.customerId);
      assertDelta(input.delta);
      assertReason(input.reason);
      assertMetadata(input.metadata);
      let referenceId = input.referenceId;
      if (referenceId !== undefined) assertReferenceId(referenceId);
      else {
        const requestId = input.requestId ?? randomUUID();
        if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 1024) {
          throw new DeltaValidationError('requestId', 'must be a non-empty string of at most 1024 characters');
        }
        referenceId = buildReferenceId({ scope: config.scope, operation: input.reason, customerId: input.customerId, requestId });
      }
      fields = { customerId: input.customerId, delta: input.delta, reason: input.reason, referenceId, metadata: input.metadata };
      body = serializeDelta(fields);
    } catch (err) {
      // Hostile input (a throwing getter or toJSON, a Proxy) must not escape into the caller either.
      const error = err instanceof DeltaValidationError ? err : new DeltaValidationError('input', `could not be read: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      return refuse('invalid', error, input);
    }
    const bytes = Buffer.byteLength(body);
    if (bytes > config.maxDeltaBytes) {
      return refuse('too_large', new DeltaDroppedError('too_large', `the delta is ${bytes} bytes; maxDeltaBytes is ${config.maxDeltaBytes}`), input, fields.referenceId);
    }
    if (store.count() >= config.maxQueueSize || store.bytes() + bytes > config.maxQueueBytes) {
      // During an outage every request lands here: reuse one error rather than capture a stack each time.
      queueFullError ??= new DeltaDroppedError('queue_full', `the queue is full (maxQueueSize ${config.maxQueueSize}, maxQueueBytes ${config.maxQueueBytes})`);
      return refuse('queue_full', queueFullError, input, fields.referenceId);
    }
    // The body is the frozen payload; `fields` keeps what events report, without metadata.
    const summary: DeltaFields = { customerId: fields.customerId, delta: fields.delta, reason: fields.reason, referenceId: fields.referenceId };
    const item: QueuedDelta = { seq: ++seq, referenceId: fields.referenceId, customerId: fields.customerId, fields: summary, body, bytes, acceptedAt: now(), attempts: 0, dueAt: 0 };
    try {
      store.add(item);
    } catch (err) {
      // A store that cannot take the delta (disk full, closed) must not break the caller either.
      return refuse('store_failed', err instanceof Error ? err : new Error(String(err)), input, item.referenceId);
    }
    counters.accepted++;
    schedulePump();
    return { accepted: true, referenceId: item.referenceId };
  }

  // ---- delivery ----
  function schedulePump(): void {
    // When every slot is busy, the next completion pumps: no need for a tick per accepted delta.
    if (pumpScheduled || stopped || inFlight >= config.concurrency) return;
    pumpScheduled = true;
    setImmediate(pump);
  }

  function customerPausedUntil(customerId: string): number {
    if (customerPauses.size === 0) return 0;
    const until = customerPauses.get(customerId);
    if (until === undefined) return 0;
    if (until <= now()) {
      customerPauses.delete(customerId);
      return 0;
    }
    return until;
  }

  function pump(): void {
    pumpScheduled = false;
    if (stopped) return;
    const at = now();
    if (pausedUntil > at) return armWake(pausedUntil);
    while (inFlight < config.concurrency) {
      const item = store.lease(at, customerPausedUntil);
      if (!item) break;
      inFlight++;
      item.attempts++;
      attempt(item).catch((err) => logger.error({ err }, 'pacspace-metering: internal delivery error'));
    }
    if (inFlight < config.concurrency) {
      const due = store.nextDueAt();
      if (due !== undefined) armWake(due);
    }
  }

  function armWake(at: number): void {
    if (wakeTimer && wakeAt <= at) return;
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeAt = at;
    wakeTimer = setTimeout(() => {
      wakeTimer = undefined;
      wakeAt = Infinity;
      pump();
    }, Math.max(0, at - now()));
    // Idle waiting must not keep the process alive, but a flush or close that waits must.
    if (drainWaiters.size === 0) wakeTimer.unref();
  }

  async function attempt(item: QueuedDelta): Promise<void> {
    let verdict: Verdict;
    try {
      verdict = builtIn
        ? classifyAnswer(await builtIn.post(DELTA_PATH, item.body, item.referenceId, config.attemptTimeoutMs))
        : classifyResult(await sdkEmit(item));
    } catch (err) {
      verdict = classifyError(err);
    }
    inFlight--;
    settle(item, verdict);
    schedulePump();
    checkDrained();
  }

  /** Sends through an SDK-shaped client, from the frozen body so every attempt carries the same content. */
  function sdkEmit(item: QueuedDelta): Promise<unknown> {
    const frozen = JSON.parse(item.body) as DeltaFields;
    const sent = client.balance.emit(frozen.customerId, frozen.delta, frozen.reason, { referenceId: frozen.referenceId, idempotencyKey: frozen.referenceId, metadata: frozen.metadata });
    return new Promise((resolve, reject) => {
      const deadline = (sdkDeadlines ??= new DeadlineQueue(config.attemptTimeoutMs)).add(() => reject(sdkTimeoutError()));
      Promise.resolve(sent).then(
        (value) => {
          deadline.cancel();
          resolve(value);
        },
        (err) => {
          deadline.cancel();
          reject(err);
        },
      );
    });
  }

  function sdkTimeoutError(): PacSpaceApiError {
    return new PacSpaceApiError(`PacSpace did not answer within ${config.attemptTimeoutMs} ms`, { status: 0, code: 'TIMEOUT', requestPath: DELTA_PATH });
  }

  function settle(item: QueuedDelta, verdict: Verdict): void {
    const { referenceId, customerId } = item;
    if (verdict.kind === 'delivered') {
      transientStreak = 0;
      store.remove(item);
      counters.delivered++;
      if (verdict.deduplicated) counters.deduplicated++;
      // The common case (no logger, no hook, nobody awaiting) allocates nothing here.
      if (logger !== silentLogger) logger.debug({ referenceId, attempts: item.attempts, deduplicated: verdict.deduplicated }, 'pacspace-metering: delta delivered');
      if (options.onDelivered) callHook('onDelivered', { ...item.fields, attempts: item.attempts, deduplicated: verdict.deduplicated, receipt: verdict.receipt });
      if (waiters.size !== 0) {
        const receipt: DeliveryReceipt = { referenceId, deduplicated: verdict.deduplicated, attempts: item.attempts, receipt: verdict.receipt };
        resolveWaiters(referenceId, (w) => w.resolve(receipt));
      }
      return;
    }
    if (verdict.kind === 'permanent' || verdict.kind === 'integrity') {
      transientStreak = 0;
      return giveUp(item, verdict.kind === 'integrity' ? 'integrity' : 'rejected', verdict.error);
    }
    // Transient: back off, honour the server's hint as a floor, pause whoever the hint names.
    const at = now();
    const hint = verdict.retryAfterMs === undefined ? undefined : Math.min(verdict.retryAfterMs, config.maxRetryAfterMs);
    if (verdict.error instanceof MeteringError && verdict.error.code === 'IDEMPOTENCY_PENDING') {
      // The server is alive and working on it: not a sign of an outage.
    } else if (++transientStreak >= OUTAGE_THRESHOLD) {
      pausedUntil = Math.max(pausedUntil, at + retryDelay(transientStreak - OUTAGE_THRESHOLD + 1, policy, random));
    }
    if (verdict.pause === 'meter' && hint !== undefined) pausedUntil = Math.max(pausedUntil, at + hint);
    else if (verdict.pause && typeof verdict.pause === 'object') {
      customerPauses.set(verdict.pause.customerId, Math.max(customerPauses.get(verdict.pause.customerId) ?? 0, at + (hint ?? retryDelay(item.attempts, policy, random))));
    }
    if (stopped) return giveUp(item, 'shutdown', verdict.error);
    if (item.attempts >= config.maxAttempts) return giveUp(item, 'max_attempts', verdict.error);
    const deadline = item.acceptedAt + config.maxRetryElapsedMs;
    if (at >= deadline) return giveUp(item, 'max_elapsed', verdict.error);
    const delayMs = Math.min(retryDelay(item.attempts, policy, random, hint), deadline - at);
    item.dueAt = at + delayMs;
    store.release(item, at);
    counters.retried++;
    logger.debug({ referenceId, attempts: item.attempts, delayMs, err: verdict.error }, 'pacspace-metering: retrying delta');
    callHook('onRetry', { referenceId, customerId, attempts: item.attempts, delayMs, error: verdict.error });
  }

  function giveUp(item: QueuedDelta, reason: DropReason, cause: Error): void {
    if (stopped && store.durable && reason === 'shutdown') {
      // A durable store keeps it for the next start; nothing is lost.
      item.dueAt = 0;
      store.release(item, now());
      return;
    }
    if (store.deadLetter && reason !== 'shutdown') store.deadLetter(item, reason, cause);
    else store.remove(item);
    reportLost(item, reason, cause);
  }

  /** Counts and reports a delta that left the store undelivered. */
  function reportLost(item: QueuedDelta, reason: DropReason, cause: Error): void {
    const code = (cause as MeteringError).code ?? 'UNKNOWN';
    if (reason !== 'shutdown') counters.failed[code] = (counters.failed[code] ?? 0) + 1;
    counters.dropped[reason] = (counters.dropped[reason] ?? 0) + 1;
    const level = reason === 'integrity' ? 'error' : 'warn';
    logger[level]({ referenceId: item.referenceId, customerId: item.customerId, reason, attempts: item.attempts, err: cause }, `pacspace-metering: delta not delivered (${reason})`);
    callHook('onDrop', { reason, referenceId: item.referenceId, customerId: item.customerId, delta: item.fields.delta, attempts: item.attempts, error: cause });
    reportError(cause, { stage: 'delivery', referenceId: item.referenceId, customerId: item.customerId });
    const dropped = new DeltaDroppedError(reason, `delta ${item.referenceId} was not delivered (${reason}): ${cause.message}`, { cause });
    resolveWaiters(item.referenceId, (w) => w.reject(reason === 'rejected' || reason === 'integrity' ? cause : dropped));
  }

  function resolveWaiters(referenceId: string, settleOne: (w: Waiter) => void): void {
    const list = waiters.get(referenceId);
    if (!list) return;
    waiters.delete(referenceId);
    for (const waiter of list) settleOne(waiter);
  }

  // ---- drain ----
  function isIdle(): boolean {
    return store.count() === 0 && inFlight === 0;
  }

  function checkDrained(): void {
    if (drainWaiters.size === 0 || !isIdle()) return;
    for (const done of [...drainWaiters]) done();
  }

  function reportSince(start: Counters, timedOut: boolean): DrainReport {
    return {
      delivered: counters.delivered - start.delivered,
      deduplicated: counters.deduplicated - start.deduplicated,
      failed: sum(counters.failed) - sum(start.failed),
      dropped: sum(counters.dropped) - sum(start.dropped),
      pending: store.count(),
      timedOut,
    };
  }

  async function flush(flushOptions: { timeoutMs?: number } = {}): Promise<DrainReport> {
    const start: Counters = { ...counters, dropped: { ...counters.dropped }, failed: { ...counters.failed } };
    if (isIdle() || stopped) return reportSince(start, !isIdle());
    const timeoutMs = flushOptions.timeoutMs;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) throw new TypeError('flush: timeoutMs must be a non-negative number of milliseconds');
    let done!: () => void;
    const drained = new Promise<void>((resolve) => (done = resolve));
    drainWaiters.add(done);
    wakeTimer?.ref();
    schedulePump();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await new Promise<boolean>((resolve) => {
      drained.then(() => resolve(false));
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve(true), timeoutMs);
    });
    clearTimeout(timer);
    drainWaiters.delete(done);
    if (drainWaiters.size === 0) wakeTimer?.unref();
    return reportSince(start, timedOut);
  }

  function close(closeOptions: { timeoutMs?: number } = {}): Promise<CloseReport> {
    closing ??= (async () => {
      closed = true;
      const report = await flush({ timeoutMs: closeOptions.timeoutMs ?? 30_000 });
      const pendingReferenceIds = store.list().map((item) => item.referenceId);
      let abandoned = 0;
      if (report.timedOut) {
        stopped = true;
        if (wakeTimer) clearTimeout(wakeTimer);
        // A durable store keeps what is left for the next start. In memory, what is not in flight
        // will never be sent: report each one. In-flight deltas settle when their answer arrives.
        if (!store.durable) {
          const waiting = store.takeWaiting();
          for (const item of waiting) reportLost(item, 'shutdown', new DeltaDroppedError('shutdown', `close() timed out before delta ${item.referenceId} was delivered`));
          abandoned = waiting.length;
        }
        logger.warn({ pending: pendingReferenceIds.length }, 'pacspace-metering: close timed out with deltas undelivered');
      } else if (ownClient && builtIn) {
        builtIn.close();
      }
      closeStore();
      return { ...report, dropped: report.dropped + abandoned, pendingReferenceIds };
    })();
    return closing;
  }

  function closeStore(): void {
    try {
      store.close?.();
    } catch (err) {
      logger.error({ err }, 'pacspace-metering: closing the store failed');
    }
  }

  function stats(): MeterStats {
    const oldest = store.oldestAcceptedAt();
    const at = now();
    const pausedCustomers: Record<string, number> = {};
    for (const [customerId, until] of customerPauses) if (until > at) pausedCustomers[customerId] = until;
    return {
      accepted: counters.accepted,
      delivered: counters.delivered,
      deduplicated: counters.deduplicated,
      retried: counters.retried,
      dropped: { ...counters.dropped },
      failed: { ...counters.failed },
      queued: store.count() - inFlight,
      inFlight,
      queuedBytes: store.bytes(),
      oldestQueuedAgeMs: oldest === undefined ? 0 : at - oldest,
      pausedUntil: pausedUntil > at ? pausedUntil : null,
      pausedCustomers,
      closed,
    };
  }

  // A durable store may hold deltas from an earlier run: resume them with their frozen bodies.
  if (store.count() > 0) schedulePump();

  return {
    scope: config.scope,
    enqueue: intake,
    refuse(error, delta) {
      try {
        return refuse('invalid', error instanceof Error ? error : new DeltaValidationError('input', String(error)), delta);
      } catch {
        return { accepted: false, reason: 'invalid', error };
      }
    },
    emit(input) {
      const result = intake(input);
      if (!result.accepted) return Promise.reject(result.error);
      return new Promise<DeliveryReceipt>((resolve, reject) => {
        const list = waiters.get(result.referenceId) ?? [];
        list.push({ resolve, reject });
        waiters.set(result.referenceId, list);
      });
    },
    flush,
    close,
    stats,
    async checkpoint(customerId, checkpointOptions = {}) {
      if (closed) throw new DeltaDroppedError('closed', 'the meter is closed; no checkpoint was requested');
      const retry = { ...DEFAULT_RETRY, baseDelayMs: config.retryBaseDelayMs, maxDelayMs: config.retryMaxDelayMs, maxRetryAfterMs: config.maxRetryAfterMs };
      const period = checkpointOptions.period ?? periodOf(now());
      return requestCheckpoint({ client, scope: config.scope, customerId, period, policy: retry, random, attemptTimeoutMs: config.attemptTimeoutMs, keepAlive: true });
    },
  };
}
