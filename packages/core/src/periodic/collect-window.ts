import { retryDelay } from '../delivery/backoff.js';
import { MeteringError } from '../errors.js';
import { sleep } from '../delivery/retry.js';
import { periodOf, windowKey, type TimeWindow } from './interval.js';
import type { PeriodicContext } from './periodic-context.js';
import type { RunReportDraft } from './run-report.js';

/**
 * What collecting a window ended with: the snapshots and the attempts that failed on the way (they
 * count against the run's budget, which delivery then shares), or `undefined` when the run ends
 * here (`draft.status` says why: `retrying` or `stopped`).
 *
 * @example
 * const collected: Collected | undefined = await collectWithRetry(ctx, window, draft, false);
 */
export type Collected = { snapshots: unknown; failures: number };

/**
 * Calls the user's `collect` for a window; a throw is reported (`COLLECT_FAILED`, stage `collect`)
 * and retried with backoff (nothing was sent yet) until the run's attempts run out.
 *
 * @example
 * const collected = await collectWithRetry(ctx, { start, end }, draft, true);
 * if (!collected) return; // draft.status is 'retrying' or 'stopped'
 */
export async function collectWithRetry(ctx: PeriodicContext, window: TimeWindow, draft: RunReportDraft, keepAlive: boolean): Promise<Collected | undefined> {
  const key = windowKey(window);
  for (let failures = 0; ; ) {
    try {
      const snapshots: unknown = await ctx.options.collect({ start: new Date(window.start), end: new Date(window.end), key, period: periodOf(window.start) });
      return { snapshots, failures };
    } catch (err) {
      const error = new MeteringError('COLLECT_FAILED', `collect threw for window ${key}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      ctx.reportError(error, { stage: 'collect', window: key });
      failures++;
      const delayMs = retryDelay(failures, ctx.policy, ctx.random);
      if (failures >= ctx.policy.maxAttempts) {
        draft.status = 'retrying';
        draft.retry = { start: new Date(window.start), end: new Date(window.end), key, error, attempts: failures, delayMs };
        return undefined;
      }
      ctx.hook('onRetry', { start: new Date(window.start), end: new Date(window.end), key, attempt: failures, delayMs, error });
      await sleep(delayMs, { keepAlive, signal: ctx.signal });
      if (ctx.signal.aborted) {
        draft.status = 'stopped';
        return undefined;
      }
    }
  }
}
