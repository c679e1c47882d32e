import { retryDelay } from '../delivery/backoff.js';
import { MeteringError } from '../errors.js';
import type { PeriodicContext } from './periodic-context.js';
import type { PeriodicRunReport } from './run-report.js';
import type { WindowState } from './window-state.js';

/**
 * When runs happen, one at a time: `exclusive` serializes runs, retries, skips and closes; the
 * timer (unref'd) runs due windows at every window end, and after a failed or short run, again
 * after a growing backoff. Owns the meter's lifecycle: started, then stopped for good.
 *
 * @example
 * const scheduler = new RunScheduler(ctx, windows, (keepAlive) => runWindows(ctx, windows, keepAlive));
 * scheduler.start();
 */
export class RunScheduler {
  private tail: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Runs in a row that ended without progress: the backoff step of the next one. */
  private runFailures = 0;
  private stopping: Promise<void> | undefined;
  /** True between `start()` and `stop()`. */
  started = false;

  constructor(
    private readonly ctx: PeriodicContext,
    private readonly windows: WindowState,
    private readonly run: (keepAlive: boolean) => Promise<PeriodicRunReport>,
  ) {}

  /** Runs `fn` after every run (or other exclusive call) queued before it; rejects with `STOPPED` once stopped. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.stopping) return Promise.reject(new MeteringError('STOPPED', 'the periodic meter is stopped; create a new one'));
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Runs due windows now, then on schedule. */
  start(): void {
    if (this.stopping) throw new MeteringError('STOPPED', 'the periodic meter is stopped; create a new one');
    if (this.started) return;
    this.started = true;
    this.arm(0);
  }

  /** Ends the schedule and retry waits, waits for the run under way, then `release()`s. Final; every call gets the same promise. */
  stop(release: () => void): Promise<void> {
    this.stopping ??= (async () => {
      this.started = false;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.ctx.stop();
      await this.tail;
      release();
    })();
    return this.stopping;
  }

  /** Sets the next scheduled run from how the last one ended (a run on request too). */
  afterRun(report: PeriodicRunReport): void {
    const state = this.windows.loaded;
    if (report.windows.length > 0) this.runFailures = 0;
    if (!this.started || !state) return;
    if (report.status === 'failed' || report.status === 'stopped') return;
    if (report.status === 'retrying') return this.arm(Math.max(report.retry?.delayMs ?? 0, this.backoff()));
    if (state.closing.length > 0) return this.arm(this.backoff());
    this.arm(this.windows.currentWindow(state).end + this.ctx.config.delayMs - this.ctx.clock());
  }

  /** Schedules a run soon (after a skip, say), if started. */
  armNow(): void {
    if (this.started) this.arm(0);
  }

  private backoff(): number {
    return retryDelay(++this.runFailures, this.ctx.policy, this.ctx.random);
  }

  private arm(delayMs: number): void {
    if (!this.started) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), Math.min(Math.max(0, Math.ceil(delayMs)), 2_147_483_647));
    this.timer.unref?.();
  }

  private tick(): void {
    this.timer = undefined;
    this.exclusive(() => this.run(false)).then(
      (report) => this.afterRun(report),
      (err: unknown) => {
        if (this.stopping) return;
        const error = err instanceof Error ? err : new Error(String(err));
        this.ctx.logger.error({ err: error }, 'pacspace-metering: periodic run failed');
        this.ctx.reportError(error, { stage: 'state' });
        this.arm(this.backoff());
      },
    );
  }
}
