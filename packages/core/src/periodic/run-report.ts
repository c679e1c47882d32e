import type { ClosePeriodOptions, PeriodCloseReport, WindowFailure, WindowReport } from './periodic-options.js';

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

/**
 * A run's report while it is under way: the units of a run (window step, period close) add to it.
 *
 * @example
 * const draft: RunReportDraft = { status: 'idle', windows: [], closed: [] };
 */
export type RunReportDraft = Omit<PeriodicRunReport, 'nextStart'>;
