import { classifyError } from '../delivery/classify.js';
import { requestCheckpoint, type CheckpointReceipt } from '../client/checkpoint.js';
import { MeteringError, PacSpaceApiError } from '../errors.js';
import type { DrainReport } from '../reporting/stats.js';
import { periodBounds } from './interval.js';
import { iso, type PeriodicContext } from './periodic-context.js';
import type { ClosePeriodOptions, PeriodCloseReport } from './periodic-options.js';
import type { PeriodicRunReport, RunReportDraft } from './run-report.js';
import type { PeriodicState } from './state-store.js';
import type { WindowState } from './window-state.js';

/**
 * Closes the periods waiting for their checkpoint (`closing`), oldest first, each once: drain the
 * configured meters, then checkpoint. A failure leaves the period waiting for the next run.
 *
 * @example
 * await closeWaitingPeriods(ctx, windows, s, draft, false);
 */
export async function closeWaitingPeriods(ctx: PeriodicContext, windows: WindowState, s: PeriodicState, draft: RunReportDraft, keepAlive: boolean): Promise<void> {
  while (s.closing.length > 0 && !ctx.signal.aborted) {
    const period = s.closing[0]!;
    let report: PeriodCloseReport;
    try {
      report = await closeDeliveredPeriod(ctx, period, ctx.config.closePeriods ?? {}, keepAlive);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      ctx.logger.warn({ period, err: error }, 'pacspace-metering: closing the period failed; it is tried again on the next run');
      ctx.reportError(error, { stage: 'checkpoint', period });
      return;
    }
    s.closing.shift();
    windows.recordClosed(s, report);
    await windows.save(s);
    draft.closed.push(report);
    ctx.hook('onPeriodClosed', report);
  }
}

/**
 * Drains, then checkpoints a period whose windows are all delivered: one checkpoint for all
 * customers, or one per listed customer. Rejects (to be tried again) on a drain timeout or a
 * transient checkpoint failure; a checkpoint refused for good is reported and listed in `errors`.
 *
 * @example
 * const report = await closeDeliveredPeriod(ctx, '2025-03', { drain: [meter] }, true);
 */
export async function closeDeliveredPeriod(ctx: PeriodicContext, period: string, close: ClosePeriodOptions, keepAlive: boolean): Promise<PeriodCloseReport> {
  const drained = await drainMeters(period, close);
  const given = close.customerIds;
  const customers: Array<string | undefined> = given === undefined ? [undefined] : [...(typeof given === 'function' ? await given(period) : given)];
  const checkpoints: CheckpointReceipt[] = [];
  const errors: PeriodCloseReport['errors'] = [];
  for (const customerId of customers) {
    try {
      checkpoints.push(await checkpointOnce(ctx, period, customerId, keepAlive));
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (isTransient(error)) throw error;
      ctx.logger.error({ period, customerId, err: error }, 'pacspace-metering: checkpoint refused for good');
      ctx.reportError(error, { stage: 'checkpoint', period });
      errors.push({ customerId: customerId ?? null, error });
    }
  }
  ctx.logger.info({ period, checkpoints: checkpoints.length, errors: errors.length }, 'pacspace-metering: period closed');
  return { period, checkpoints, errors, drained, alreadyClosed: false };
}

/** Flushes each meter to drain before the checkpoint; rejects with `PERIOD_NOT_DRAINED` when one times out. */
async function drainMeters(period: string, close: ClosePeriodOptions): Promise<DrainReport[]> {
  const drained: DrainReport[] = [];
  const timeoutMs = close.drainTimeoutMs ?? 60_000;
  for (const meter of close.drain ?? []) {
    const report = await meter.flush({ timeoutMs });
    drained.push(report);
    if (report.timedOut) throw new MeteringError('PERIOD_NOT_DRAINED', `a meter still had ${report.pending} delta(s) pending after ${timeoutMs} ms; period ${period} is not checkpointed yet`);
  }
  return drained;
}

function checkpointOnce(ctx: PeriodicContext, period: string, customerId: string | undefined, keepAlive: boolean): Promise<CheckpointReceipt> {
  const { client, config, policy, random, signal, logger } = ctx;
  return requestCheckpoint({
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
  });
}

/** Transient errors (network, 5xx, 429, pending) are worth trying again later; our own argument errors and 4xx are not. */
function isTransient(error: Error): boolean {
  if (error instanceof MeteringError && !(error instanceof PacSpaceApiError)) return false;
  return classifyError(error).kind === 'retry';
}

/**
 * `closePeriod(period)` on request: rejects with `PERIOD_OPEN` before the month (plus `delayMs`) is
 * over; answers `alreadyClosed` for a period checkpointed before; delivers the period's remaining
 * windows first (`run`), rejecting with `PERIOD_NOT_DELIVERED` when one does not go through; then
 * drains and checkpoints once.
 *
 * @example
 * const report = await closePeriodOnRequest(ctx, windows, '2025-03', ctx.config.closePeriods ?? {}, () => runWindows(ctx, windows, true));
 */
export async function closePeriodOnRequest(ctx: PeriodicContext, windows: WindowState, period: string, close: ClosePeriodOptions, run: () => Promise<PeriodicRunReport>): Promise<PeriodCloseReport> {
  const bounds = periodBounds(period);
  const { delayMs } = ctx.config;
  if (ctx.clock() < bounds.end + delayMs) throw new MeteringError('PERIOD_OPEN', `period ${period} is not over yet (it ends at ${iso(bounds.end)}${delayMs ? ` plus delayMs ${delayMs}` : ''})`);
  const s = await windows.load();
  const done = () => s.checkpointed.find((c) => c.period === period);
  if (done()) return { period, checkpoints: [], errors: [], drained: [], alreadyClosed: true };
  if (Date.parse(s.nextStart) < bounds.end) {
    const report = await run();
    if (done()) return report.closed.find((c) => c.period === period) ?? { period, checkpoints: [], errors: [], drained: [], alreadyClosed: true };
    if (Date.parse(s.nextStart) < bounds.end) {
      throw new MeteringError('PERIOD_NOT_DELIVERED', `the windows of ${period} are not all delivered (next window starts ${s.nextStart}; run ${report.status})`, { cause: report.failure?.error ?? report.retry?.error });
    }
  }
  const report = await closeDeliveredPeriod(ctx, period, close, true);
  windows.recordClosed(s, report);
  await windows.save(s);
  ctx.hook('onPeriodClosed', report);
  return report;
}
