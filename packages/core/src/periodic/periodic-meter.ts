import { retryDelay } from '../backoff.js';
import { classifyError } from '../classify.js';
import { createPacSpaceClient, isBuiltInClient, type BalanceClient } from '../client.js';
import { MeteringConfigError, MeteringError, PacSpaceApiError } from '../errors.js';
import { resolveLogger } from '../logger.js';
import type { DrainReport } from '../stats.js';
import { requestCheckpoint, type CheckpointReceipt } from '../checkpoint.js';
import { createBatchSender } from '../batch-sender.js';
import { deliverWindow, type WindowDeliveryContext, type DeliveryOutcome } from './deliver-window.js';
import { callHook } from './hooks.js';
import { assertPeriod, periodBounds, periodOf, windowContaining, windowFrom, windowKey, type TimeWindow } from './interval.js';
import {
  resolveClosePeriodOptions,
  resolvePeriodicConfig,
  type ClosePeriodOptions,
  type PeriodCloseReport,
  type PeriodicMeterOptions,
  type WindowFailure,
  type WindowReport,
} from './periodic-options.js';
import { sleep } from '../retry.js';
import { prepareWindow } from './snapshots.js';
import { createJsonFileStateStore, validateState, type FailedItem, type PeriodicState, type PeriodicStateStore } from './state-store.js';

/**
 * What a run (`runDue`, `retryFailed`, or a scheduled run) did.
 *
 * @example
 * const { status, windows, failure, retry } = await periodic.runDue();
 * if (status === 'failed') page(failure);
 */
export interface PeriodicRunReport {
  /**
   * `idle`: every completed window is delivered; `retrying`: a window hit transient failures until
   * this run's attempts ran out (it is retried later with the same keys); `failed`: a window failed
   * for good and the meter stays on it; `stopped`: `stop()` was called.
   */
  status: 'idle' | 'retrying' | 'failed' | 'stopped';
  /** Windows delivered by this run, in order. */
  windows: WindowReport[];
  /** Start of the next window to deliver. */
  nextStart: Date;
  /** With `failed`: the window and why. */
  failure?: WindowFailure;
  /** With `retrying`: the window, the last error, and the suggested wait. */
  retry?: { start: Date; end: Date; key: string; error: Error; attempts: number; delayMs: number };
  /** Periods closed (drained and checkpointed) by this run. */
  closed: PeriodCloseReport[];
}

/**
 * A point-in-time view of a periodic meter.
 *
 * @example
 * const { nextStart, pending, failed } = await periodic.status();
 */
export interface PeriodicStatus {
  nextStart: Date;
  /** The window under delivery (frozen), if any. */
  pending: { start: Date; end: Date; key: string; round: number; items: number } | null;
  failed: WindowFailure | null;
  lastCompleted: { start: Date; end: Date; items: number; completedAt: Date } | null;
  /** Periods waiting for their checkpoint. */
  closing: string[];
  /** True between `start()` and `stop()`. */
  started: boolean;
}

/**
 * Periodic metering: one batch of usage snapshots per UTC-aligned window, delivered exactly once.
 *
 * @example
 * const periodic: PeriodicMeter = createPeriodicMeter({ apiKey, collect });
 * periodic.start();
 */
export interface PeriodicMeter {
  readonly scope: string;
  readonly name: string;
  /** Window length in milliseconds. */
  readonly intervalMs: number;
  /** Runs due windows now, then at every window end (timers unref'd, so an idle meter never keeps the process alive). */
  start(): void;
  /** Stops the schedule, ends retry waits, waits for the request in flight, releases the built-in client. Final. */
  stop(): Promise<void>;
  /** Delivers every completed window up to now, in order, and resolves with what happened. Runs are serialized. */
  runDue(): Promise<PeriodicRunReport>;
  /** After a permanent failure: tries the failed window again under new keys, with the frozen snapshots, or collected again with `recollect: true`. */
  retryFailed(options?: { recollect?: boolean }): Promise<PeriodicRunReport>;
  /** After a permanent failure: moves past the failed window on purpose (recorded in the state's `skipped` list). Resolves with the failure skipped, if any. */
  skipFailed(): Promise<WindowFailure | undefined>;
  /**
   * Closes a UTC month: delivers its remaining windows, drains the given meters, then checkpoints
   * once (one for all customers, or one per listed customer). A period already closed is not
   * checkpointed again. Rejects with `PERIOD_OPEN` before the month is over, `PERIOD_NOT_DELIVERED`
   * while one of its windows is not delivered, `PERIOD_NOT_DRAINED` when a drain times out.
   */
  closePeriod(period: string, options?: ClosePeriodOptions): Promise<PeriodCloseReport>;
  /** The persisted position, the pending and failed window, periods waiting for a checkpoint. */
  status(): Promise<PeriodicStatus>;
}

type RunReportDraft = Omit<PeriodicRunReport, 'nextStart'>;

/**
 * Creates a periodic meter: for each UTC-aligned, half-open window `[start, end)` of `interval`
 * it calls `collect`, freezes the snapshots (persisted with the window until it is delivered),
 * and submits them in chunks of at most 100 through the batch endpoint, with referenceIds and
 * Idempotency-Keys derived from the window only. A window is retried with the same keys until it is
 * delivered or fails for good; a failed window stops the meter there (reported through
 * `onWindowFailed`/`onError`) until `retryFailed()` or `skipFailed()`. After downtime it catches up
 * window by window, in order; the position is persisted (`statePath`, a JSON file by default), so a
 * restart neither skips nor repeats a window. Bad options throw {@link MeteringConfigError}.
 *
 * @example
 * const periodic = createPeriodicMeter({
 *   apiKey: process.env.PACSPACE_API_KEY,
 *   scope: 'storage-api',
 *   interval: '1h',
 *   statePath: '/var/lib/storage-api/periodic.json',
 *   collect: async ({ start, end }) => db.storageGbHoursByCustomer(start, end)
 *     .map((row) => ({ customerId: row.customer, delta: -row.gbHours, reason: 'storage_gb_hours' })),
 *   closePeriods: { drain: [meter] },
 * });
 * periodic.start();
 * process.on('SIGTERM', () => periodic.stop());
 */
export function createPeriodicMeter(options: PeriodicMeterOptions): PeriodicMeter {
  const config = resolvePeriodicConfig(options);
  const client: BalanceClient = options.client ?? createPacSpaceClient({ apiKey: options.apiKey, baseUrl: options.baseUrl, timeoutMs: config.attemptTimeoutMs, maxSockets: 2 });
  const ownClient = options.client === undefined;
  // The Meter's own sender: a window's requests, deadlines and verdicts are those of request deltas.
  const sender = createBatchSender(client, isBuiltInClient(client) ? client : undefined, config.attemptTimeoutMs);
  const mode = typeof client.balance.emitBatch === 'function' ? 'batch' : 'single';
  const store: PeriodicStateStore = options.stateStore ?? createJsonFileStateStore(config.statePath!);
  const storeOption = options.stateStore === undefined ? 'statePath' : 'stateStore';
  const logger = resolveLogger(options.logger);
  const clock = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const { policy, intervalMs } = config;
  const stopController = new AbortController();
  const signal = stopController.signal;

  let state: PeriodicState | undefined;
  let loading: Promise<PeriodicState> | undefined;
  let tail: Promise<unknown> = Promise.resolve();
  let started = false;
  let stopping: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let runFailures = 0;

  // ---- hooks and errors: user code can never break a run ----
  function reportError(error: Error, context: { stage: 'collect' | 'delivery' | 'checkpoint' | 'state' | 'hook'; window?: string; period?: string; hook?: string }): void {
    callHook(options.onError ? (e: Error) => options.onError!(e, context) : undefined, error, 'onError', logger);
  }
  function hook<E>(name: 'onWindow' | 'onWindowFailed' | 'onRetry' | 'onPeriodClosed', event: E): void {
    callHook(options[name] as ((e: E) => unknown) | undefined, event, name, logger, (error, context) => reportError(error, context));
  }

  // ---- serialization: one run (or retry, skip, close) at a time ----
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (stopping) return Promise.reject(new MeteringError('STOPPED', 'the periodic meter is stopped; create a new one'));
    const result = tail.then(fn);
    tail = result.catch(() => undefined);
    return result;
  }

  // ---- state ----
  function loadState(): Promise<PeriodicState> {
    if (state) return Promise.resolve(state);
    loading ??= (async () => {
      let loaded = await store.load();
      if (loaded !== undefined) {
        loaded = validateState(loaded, storeOption);
        if (loaded.name !== config.name) throw new MeteringConfigError(storeOption, `holds the state of periodic meter "${loaded.name}", not "${config.name}"; give each periodic meter its own state`);
      } else {
        const first = config.startAt ?? windowContaining(clock(), intervalMs).start;
        loaded = { version: 1, name: config.name, nextStart: iso(first), pending: null, failed: null, lastCompleted: null, closing: [], checkpointed: [], skipped: [] };
        // Saved at once: a restart after the first window ends must not start from a later window.
        await store.save(loaded);
        logger.info({ name: config.name, nextStart: loaded.nextStart }, 'pacspace-metering: periodic meter starts');
      }
      state = loaded;
      return loaded;
    })();
    loading.catch(() => {
      loading = undefined;
    });
    return loading;
  }

  async function save(s: PeriodicState): Promise<void> {
    try {
      await store.save(s);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      logger.error({ err: error }, 'pacspace-metering: saving the periodic state failed');
      reportError(error, { stage: 'state' });
      throw error;
    }
  }

  function currentWindow(s: PeriodicState): TimeWindow {
    if (s.pending) return { start: Date.parse(s.pending.start), end: Date.parse(s.pending.end) };
    return windowFrom(Date.parse(s.nextStart), intervalMs);
  }

  function failureOf(s: PeriodicState, error?: MeteringError): WindowFailure | undefined {
    const failed = s.failed;
    if (!failed) return undefined;
    const window = { start: Date.parse(failed.start), end: Date.parse(failed.end) };
    return { start: new Date(window.start), end: new Date(window.end), key: windowKey(window), code: failed.code, error: error ?? new MeteringError(failed.code, failed.message), items: failed.items };
  }

  async function failWindow(s: PeriodicState, window: TimeWindow, error: MeteringError, items: FailedItem[], draft: RunReportDraft): Promise<void> {
    s.failed = { start: iso(window.start), end: iso(window.end), code: error.code, message: error.message, items, at: iso(clock()) };
    await save(s);
    const failure = failureOf(s, error)!;
    logger.error({ window: failure.key, code: error.code, items: items.length, err: error }, 'pacspace-metering: periodic window failed for good; the meter stays on it');
    hook('onWindowFailed', failure);
    reportError(error, { stage: 'delivery', window: failure.key });
    draft.status = 'failed';
    draft.failure = failure;
  }

  // ---- one run: every completed window, in order ----
  async function runWindows(keepAlive: boolean): Promise<PeriodicRunReport> {
    const s = await loadState();
    const draft: RunReportDraft = { status: 'idle', windows: [], closed: [] };
    await closePending(s, draft, keepAlive);
    while (draft.status === 'idle') {
      if (signal.aborted) {
        draft.status = 'stopped';
        break;
      }
      if (s.failed) {
        draft.status = 'failed';
        draft.failure = failureOf(s);
        break;
      }
      const window = currentWindow(s);
      if (clock() < window.end + config.delayMs) break;
      const key = windowKey(window);
      const period = periodOf(window.start);
      let failures = 0;

      if (!s.pending || s.pending.recollect) {
        let snapshots: unknown;
        for (;;) {
          try {
            snapshots = await options.collect({ start: new Date(window.start), end: new Date(window.end), key, period });
            break;
          } catch (err) {
            const error = new MeteringError('COLLECT_FAILED', `collect threw for window ${key}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
            reportError(error, { stage: 'collect', window: key });
            failures++;
            const delayMs = retryDelay(failures, policy, random);
            if (failures >= policy.maxAttempts) {
              draft.status = 'retrying';
              draft.retry = { start: new Date(window.start), end: new Date(window.end), key, error, attempts: failures, delayMs };
              break;
            }
            hook('onRetry', { start: new Date(window.start), end: new Date(window.end), key, attempt: failures, delayMs, error });
            await sleep(delayMs, { keepAlive, signal });
            if (signal.aborted) {
              draft.status = 'stopped';
              break;
            }
          }
        }
        if (draft.status !== 'idle') break;
        let prepared;
        try {
          prepared = prepareWindow(snapshots, { scope: config.scope, name: config.name, window });
        } catch (err) {
          if (!(err instanceof MeteringError)) throw err;
          await failWindow(s, window, err, [], draft);
          break;
        }
        s.pending = { start: iso(window.start), end: iso(window.end), round: s.pending?.round ?? 0, skipped: prepared.skipped, items: prepared.items };
        await save(s);
      }

      const pending = s.pending;
      const inDelivery = { windowKey: key, items: pending.items, round: pending.round, failures, requests: 0, rounds: 0 };
      const outcome: DeliveryOutcome = pending.items.length === 0 ? { kind: 'delivered', delivered: 0, replayed: 0 } : await deliverWindow(deliveryContext(s, window, keepAlive), inDelivery);

      if (outcome.kind === 'delivered') {
        s.nextStart = pending.end;
        s.pending = null;
        s.lastCompleted = { start: pending.start, end: pending.end, items: pending.items.length, completedAt: iso(clock()) };
        const endsPeriod = periodOf(window.end - 1) !== periodOf(window.end);
        if (config.closePeriods && endsPeriod && !s.closing.includes(period) && !s.checkpointed.some((c) => c.period === period)) s.closing.push(period);
        await save(s);
        let total = 0;
        for (const item of pending.items) {
          total += item.delta;
          options.tally?.record(item.customerId, item.delta, item.referenceId);
        }
        const report: WindowReport = {
          start: new Date(window.start),
          end: new Date(window.end),
          key,
          period,
          items: pending.items.length,
          skipped: pending.skipped,
          delivered: outcome.delivered,
          replayed: outcome.replayed,
          total,
          requests: inDelivery.requests,
          rounds: inDelivery.rounds,
        };
        runFailures = 0;
        draft.windows.push(report);
        logger.info({ window: key, items: report.items, replayed: report.replayed, requests: report.requests }, 'pacspace-metering: periodic window delivered');
        hook('onWindow', report);
        await closePending(s, draft, keepAlive);
      } else if (outcome.kind === 'retry') {
        draft.status = 'retrying';
        draft.retry = { start: new Date(window.start), end: new Date(window.end), key, error: outcome.error, attempts: inDelivery.failures, delayMs: outcome.delayMs };
        logger.warn({ window: key, attempts: inDelivery.failures, err: outcome.error }, 'pacspace-metering: periodic window not delivered yet; it is retried later with the same keys');
      } else if (outcome.kind === 'failed') {
        await failWindow(s, window, outcome.error, outcome.items, draft);
      } else {
        draft.status = 'stopped';
      }
    }
    return { ...draft, nextStart: new Date(s.nextStart) };
  }

  function deliveryContext(s: PeriodicState, window: TimeWindow, keepAlive: boolean): WindowDeliveryContext {
    return {
      sender,
      mode,
      scope: config.scope,
      name: config.name,
      maxBatchSize: config.maxBatchSize,
      policy,
      random,
      keepAlive,
      signal,
      async beginRound(round) {
        s.pending!.round = round;
        await save(s);
      },
      onRetry(event) {
        logger.debug({ key: event.key, attempt: event.attempt, delayMs: event.delayMs, err: event.error }, 'pacspace-metering: retrying periodic batch');
        hook('onRetry', { start: new Date(window.start), end: new Date(window.end), key: windowKey(window), attempt: event.attempt, delayMs: event.delayMs, error: event.error });
      },
    };
  }

  // ---- period close: drain, then checkpoint once ----
  async function closePending(s: PeriodicState, draft: RunReportDraft, keepAlive: boolean): Promise<void> {
    while (s.closing.length > 0 && !signal.aborted) {
      const period = s.closing[0]!;
      let report: PeriodCloseReport;
      try {
        report = await closeDelivered(period, config.closePeriods ?? {}, keepAlive);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        logger.warn({ period, err: error }, 'pacspace-metering: closing the period failed; it is tried again on the next run');
        reportError(error, { stage: 'checkpoint', period });
        return;
      }
      s.closing.shift();
      recordClosed(s, report);
      await save(s);
      draft.closed.push(report);
      hook('onPeriodClosed', report);
    }
  }

  function recordClosed(s: PeriodicState, report: PeriodCloseReport): void {
    s.closing = s.closing.filter((p) => p !== report.period);
    s.checkpointed.push({ period: report.period, checkpointIds: report.checkpoints.map((c) => c.checkpointId ?? c.idempotencyKey), at: iso(clock()) });
    if (s.checkpointed.length > 24) s.checkpointed.splice(0, s.checkpointed.length - 24);
  }

  /** Drains, then checkpoints a period whose windows are all delivered. Rejects (to be tried again) on a drain timeout or a transient checkpoint failure. */
  async function closeDelivered(period: string, close: ClosePeriodOptions, keepAlive: boolean): Promise<PeriodCloseReport> {
    const drained: DrainReport[] = [];
    for (const meter of close.drain ?? []) {
      const report = await meter.flush({ timeoutMs: close.drainTimeoutMs ?? 60_000 });
      drained.push(report);
      if (report.timedOut) throw new MeteringError('PERIOD_NOT_DRAINED', `a meter still had ${report.pending} delta(s) pending after ${close.drainTimeoutMs ?? 60_000} ms; period ${period} is not checkpointed yet`);
    }
    const given = close.customerIds;
    const customers: Array<string | undefined> = given === undefined ? [undefined] : [...(typeof given === 'function' ? await given(period) : given)];
    const checkpoints: CheckpointReceipt[] = [];
    const errors: PeriodCloseReport['errors'] = [];
    for (const customerId of customers) {
      try {
        checkpoints.push(
          await requestCheckpoint({
            client,
            scope: config.scope,
            customerId,
            period,
            policy,
            random,
            attemptTimeoutMs: config.attemptTimeoutMs,
            keepAlive,
            signal,
            onRetry: (attempt, delayMs, error) => logger.debug({ period, customerId, attempt, delayMs, err: error }, 'pacspace-metering: retrying checkpoint'),
          }),
        );
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if (isTransient(error)) throw error;
        logger.error({ period, customerId, err: error }, 'pacspace-metering: checkpoint refused for good');
        reportError(error, { stage: 'checkpoint', period });
        errors.push({ customerId: customerId ?? null, error });
      }
    }
    logger.info({ period, checkpoints: checkpoints.length, errors: errors.length }, 'pacspace-metering: period closed');
    return { period, checkpoints, errors, drained, alreadyClosed: false };
  }

  // ---- schedule ----
  function arm(delayMs: number): void {
    if (!started) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, Math.min(Math.max(0, Math.ceil(delayMs)), 2_147_483_647));
    timer.unref?.();
  }

  function tick(): void {
    timer = undefined;
    exclusive(() => runWindows(false)).then(afterRun, (err: unknown) => {
      if (stopping) return;
      const error = err instanceof Error ? err : new Error(String(err));
      logger.error({ err: error }, 'pacspace-metering: periodic run failed');
      reportError(error, { stage: 'state' });
      arm(retryDelay(++runFailures, policy, random));
    });
  }

  function afterRun(report: PeriodicRunReport): void {
    if (!started || !state) return;
    if (report.status === 'failed' || report.status === 'stopped') return;
    if (report.status === 'retrying') return arm(Math.max(report.retry?.delayMs ?? 0, retryDelay(++runFailures, policy, random)));
    if (state.closing.length > 0) return arm(retryDelay(++runFailures, policy, random));
    arm(currentWindow(state).end + config.delayMs - clock());
  }

  return {
    scope: config.scope,
    name: config.name,
    intervalMs,
    start() {
      if (stopping) throw new MeteringError('STOPPED', 'the periodic meter is stopped; create a new one');
      if (started) return;
      started = true;
      arm(0);
    },
    stop() {
      stopping ??= (async () => {
        started = false;
        if (timer) clearTimeout(timer);
        timer = undefined;
        stopController.abort();
        await tail;
        if (ownClient && isBuiltInClient(client)) client.close();
      })();
      return stopping;
    },
    runDue() {
      return exclusive(() => runWindows(true));
    },
    retryFailed(retryOptions = {}) {
      return exclusive(async () => {
        const s = await loadState();
        if (s.failed) {
          const failed = s.failed;
          s.failed = null;
          // New keys: a stored 2xx answer of the old round would repeat the failure.
          const round = (s.pending?.round ?? -1) + 1;
          if (retryOptions.recollect || !s.pending) s.pending = { start: failed.start, end: failed.end, round, skipped: 0, items: [], recollect: true };
          else s.pending.round = round;
          await save(s);
          logger.warn({ window: failed.start, recollect: retryOptions.recollect === true }, 'pacspace-metering: retrying a failed periodic window');
        }
        const report = await runWindows(true);
        afterRun(report);
        return report;
      });
    },
    skipFailed() {
      return exclusive(async () => {
        const s = await loadState();
        const failure = failureOf(s);
        if (!failure || !s.failed) return undefined;
        s.skipped.push({ start: s.failed.start, end: s.failed.end, code: s.failed.code, at: iso(clock()) });
        if (s.skipped.length > 100) s.skipped.splice(0, s.skipped.length - 100);
        s.nextStart = s.failed.end;
        s.failed = null;
        s.pending = null;
        await save(s);
        logger.warn({ window: failure.key, code: failure.code }, 'pacspace-metering: a failed periodic window was skipped on request');
        if (started) arm(0);
        return failure;
      });
    },
    closePeriod(period, closeOptions) {
      return exclusive(async () => {
        assertPeriod(period);
        const close = closeOptions === undefined ? (config.closePeriods ?? {}) : resolveClosePeriodOptions(closeOptions, 'options')!;
        const bounds = periodBounds(period);
        if (clock() < bounds.end + config.delayMs) throw new MeteringError('PERIOD_OPEN', `period ${period} is not over yet (it ends at ${iso(bounds.end)}${config.delayMs ? ` plus delayMs ${config.delayMs}` : ''})`);
        const s = await loadState();
        const done = () => s.checkpointed.find((c) => c.period === period);
        if (done()) return { period, checkpoints: [], errors: [], drained: [], alreadyClosed: true };
        if (Date.parse(s.nextStart) < bounds.end) {
          const run = await runWindows(true);
          afterRun(run);
          if (done()) return run.closed.find((c) => c.period === period) ?? { period, checkpoints: [], errors: [], drained: [], alreadyClosed: true };
          if (Date.parse(s.nextStart) < bounds.end) {
            throw new MeteringError('PERIOD_NOT_DELIVERED', `the windows of ${period} are not all delivered (next window starts ${s.nextStart}; run ${run.status})`, { cause: run.failure?.error ?? run.retry?.error });
          }
        }
        const report = await closeDelivered(period, close, true);
        recordClosed(s, report);
        await save(s);
        hook('onPeriodClosed', report);
        return report;
      });
    },
    async status() {
      const s = await loadState();
      const pending = s.pending && !s.pending.recollect ? s.pending : null;
      return {
        nextStart: new Date(s.nextStart),
        pending: pending && { start: new Date(pending.start), end: new Date(pending.end), key: windowKey({ start: Date.parse(pending.start), end: Date.parse(pending.end) }), round: pending.round, items: pending.items.length },
        failed: failureOf(s) ?? null,
        lastCompleted: s.lastCompleted && { start: new Date(s.lastCompleted.start), end: new Date(s.lastCompleted.end), items: s.lastCompleted.items, completedAt: new Date(s.lastCompleted.completedAt) },
        closing: [...s.closing],
        started,
      };
    },
  };
}

/** Transient errors (network, 5xx, 429, pending) are worth trying again later; our own argument errors and 4xx are not. */
function isTransient(error: Error): boolean {
  if (error instanceof MeteringError && !(error instanceof PacSpaceApiError)) return false;
  return classifyError(error).kind === 'retry';
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
