import { MeteringConfigError, MeteringError } from '../errors.js';
import { windowContaining, windowFrom, windowKey, type TimeWindow } from './interval.js';
import { iso, type PeriodicContext } from './periodic-context.js';
import type { PeriodCloseReport, WindowFailure } from './periodic-options.js';
import type { PeriodicStatus, RunReportDraft } from './run-report.js';
import { createJsonFileStateStore, validateState, type FailedItem, type PeriodicState, type PeriodicStateStore } from './state-store.js';

/**
 * The periodic meter's persisted position and what changes it: loaded once (and created, saved at
 * once, on the first start), saved after every change. Every transition of the state lives here:
 * a window failed, retried, skipped; a period closed.
 *
 * @example
 * const windows = new WindowState(ctx);
 * const s = await windows.load();
 */
export class WindowState {
  private readonly store: PeriodicStateStore;
  private readonly storeOption: 'statePath' | 'stateStore';
  private state: PeriodicState | undefined;
  private loading: Promise<PeriodicState> | undefined;

  constructor(private readonly ctx: PeriodicContext) {
    this.store = ctx.options.stateStore ?? createJsonFileStateStore(ctx.config.statePath!);
    this.storeOption = ctx.options.stateStore === undefined ? 'statePath' : 'stateStore';
  }

  /** The state once loaded, else undefined. */
  get loaded(): PeriodicState | undefined {
    return this.state;
  }

  /** Loads (once) the persisted state, or starts a new one at `startAt` (default: the current window). */
  load(): Promise<PeriodicState> {
    if (this.state) return Promise.resolve(this.state);
    this.loading ??= this.loadOrCreate();
    this.loading.catch(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async loadOrCreate(): Promise<PeriodicState> {
    const { config, logger } = this.ctx;
    let loaded = await this.store.load();
    if (loaded !== undefined) {
      loaded = validateState(loaded, this.storeOption);
      if (loaded.name !== config.name) throw new MeteringConfigError(this.storeOption, `holds the state of periodic meter "${loaded.name}", not "${config.name}"; give each periodic meter its own state`);
    } else {
      const first = config.startAt ?? windowContaining(this.ctx.clock(), config.intervalMs).start;
      loaded = { version: 1, name: config.name, nextStart: iso(first), pending: null, failed: null, lastCompleted: null, closing: [], checkpointed: [], skipped: [] };
      // Saved at once: a restart after the first window ends must not start from a later window.
      await this.store.save(loaded);
      logger.info({ name: config.name, nextStart: loaded.nextStart }, 'pacspace-metering: periodic meter starts');
    }
    this.state = loaded;
    return loaded;
  }

  /** Persists the state; a failure is logged, reported (stage `state`) and rethrown. */
  async save(s: PeriodicState): Promise<void> {
    try {
      await this.store.save(s);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.ctx.logger.error({ err: error }, 'pacspace-metering: saving the periodic state failed');
      this.ctx.reportError(error, { stage: 'state' });
      throw error;
    }
  }

  /** The window to deliver next: the pending one, else the one at `nextStart`. */
  currentWindow(s: PeriodicState): TimeWindow {
    if (s.pending) return { start: Date.parse(s.pending.start), end: Date.parse(s.pending.end) };
    return windowFrom(Date.parse(s.nextStart), this.ctx.config.intervalMs);
  }

  /** The failed window as reported to the user, if any. */
  failureOf(s: PeriodicState, error?: MeteringError): WindowFailure | undefined {
    const failed = s.failed;
    if (!failed) return undefined;
    const window = { start: Date.parse(failed.start), end: Date.parse(failed.end) };
    return { start: new Date(window.start), end: new Date(window.end), key: windowKey(window), code: failed.code, error: error ?? new MeteringError(failed.code, failed.message), items: failed.items };
  }

  /** Records a window failed for good (the meter stays on it), tells the user once, and ends the run as `failed`. */
  async failWindow(s: PeriodicState, window: TimeWindow, error: MeteringError, items: FailedItem[], draft: RunReportDraft): Promise<void> {
    s.failed = { start: iso(window.start), end: iso(window.end), code: error.code, message: error.message, items, at: iso(this.ctx.clock()) };
    await this.save(s);
    const failure = this.failureOf(s, error)!;
    this.ctx.logger.error({ window: failure.key, code: error.code, items: items.length, err: error }, 'pacspace-metering: periodic window failed for good; the meter stays on it');
    this.ctx.hook('onWindowFailed', failure);
    this.ctx.reportError(error, { stage: 'delivery', window: failure.key });
    draft.status = 'failed';
    draft.failure = failure;
  }

  /** After a permanent failure: the failed window goes again under new keys, with its frozen snapshots or collected again. */
  async retryFailed(recollect: boolean): Promise<void> {
    const s = await this.load();
    if (!s.failed) return;
    const failed = s.failed;
    s.failed = null;
    // New keys: a stored 2xx answer of the old round would repeat the failure.
    const round = (s.pending?.round ?? -1) + 1;
    if (recollect || !s.pending) s.pending = { start: failed.start, end: failed.end, round, skipped: 0, items: [], recollect: true };
    else s.pending.round = round;
    await this.save(s);
    this.ctx.logger.warn({ window: failed.start, recollect }, 'pacspace-metering: retrying a failed periodic window');
  }

  /** After a permanent failure: moves past the failed window on purpose, recorded in `skipped` (the last 100). */
  async skipFailed(): Promise<WindowFailure | undefined> {
    const s = await this.load();
    const failure = this.failureOf(s);
    if (!failure || !s.failed) return undefined;
    s.skipped.push({ start: s.failed.start, end: s.failed.end, code: s.failed.code, at: iso(this.ctx.clock()) });
    if (s.skipped.length > 100) s.skipped.splice(0, s.skipped.length - 100);
    s.nextStart = s.failed.end;
    s.failed = null;
    s.pending = null;
    await this.save(s);
    this.ctx.logger.warn({ window: failure.key, code: failure.code }, 'pacspace-metering: a failed periodic window was skipped on request');
    return failure;
  }

  /** Records a closed period (the last 24 are kept), no longer waiting for its checkpoint. */
  recordClosed(s: PeriodicState, report: PeriodCloseReport): void {
    s.closing = s.closing.filter((p) => p !== report.period);
    s.checkpointed.push({ period: report.period, checkpointIds: report.checkpoints.map((c) => c.checkpointId ?? c.idempotencyKey), at: iso(this.ctx.clock()) });
    if (s.checkpointed.length > 24) s.checkpointed.splice(0, s.checkpointed.length - 24);
  }

  /** A point-in-time view for `status()`. */
  async status(started: boolean): Promise<PeriodicStatus> {
    const s = await this.load();
    const pending = s.pending && !s.pending.recollect ? s.pending : null;
    return {
      nextStart: new Date(s.nextStart),
      pending: pending && { start: new Date(pending.start), end: new Date(pending.end), key: windowKey({ start: Date.parse(pending.start), end: Date.parse(pending.end) }), round: pending.round, items: pending.items.length },
      failed: this.failureOf(s) ?? null,
      lastCompleted: s.lastCompleted && { start: new Date(s.lastCompleted.start), end: new Date(s.lastCompleted.end), items: s.lastCompleted.items, completedAt: new Date(s.lastCompleted.completedAt) },
      closing: [...s.closing],
      started,
    };
  }
}
