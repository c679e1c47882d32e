import { isBuiltInClient } from '../client/client.js';
import { assertPeriod } from './interval.js';
import { closePeriodOnRequest } from './period-close.js';
import { createPeriodicContext } from './periodic-context.js';
import { resolveClosePeriodOptions, type PeriodicMeterOptions } from './periodic-options.js';
import type { PeriodicMeter } from './run-report.js';
import { RunScheduler } from './run-scheduler.js';
import { runWindows } from './run-windows.js';
import { WindowState } from './window-state.js';

export type { PeriodicMeter, PeriodicRunReport, PeriodicStatus } from './run-report.js';

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
  // The units, each in its own file: the context (config, client, sender, hooks), the persisted
  // state and its transitions, one run (window steps and period closes), the scheduler.
  const ctx = createPeriodicContext(options);
  const windows = new WindowState(ctx);
  const run = (keepAlive: boolean) => runWindows(ctx, windows, keepAlive);
  const scheduler = new RunScheduler(ctx, windows, run);
  const runOnRequest = async () => {
    const report = await run(true);
    scheduler.afterRun(report);
    return report;
  };

  return {
    scope: ctx.config.scope,
    name: ctx.config.name,
    intervalMs: ctx.config.intervalMs,
    start: () => scheduler.start(),
    stop: () =>
      scheduler.stop(() => {
        if (ctx.ownClient && isBuiltInClient(ctx.client)) ctx.client.close();
      }),
    runDue: () => scheduler.exclusive(() => run(true)),
    retryFailed: (retryOptions = {}) =>
      scheduler.exclusive(async () => {
        await windows.retryFailed(retryOptions.recollect === true);
        return runOnRequest();
      }),
    skipFailed: () =>
      scheduler.exclusive(async () => {
        const failure = await windows.skipFailed();
        if (failure) scheduler.armNow();
        return failure;
      }),
    closePeriod: (period, closeOptions) =>
      scheduler.exclusive(() => {
        assertPeriod(period);
        const close = closeOptions === undefined ? (ctx.config.closePeriods ?? {}) : resolveClosePeriodOptions(closeOptions, 'options')!;
        return closePeriodOnRequest(ctx, windows, period, close, runOnRequest);
      }),
    status: () => windows.status(scheduler.started),
  };
}
