import { closeWaitingPeriods } from './period-close.js';
import type { PeriodicContext } from './periodic-context.js';
import type { PeriodicRunReport, RunReportDraft } from './run-report.js';
import { windowStep } from './window-step.js';
import type { WindowState } from './window-state.js';

/**
 * One run: closes the periods waiting for it, then delivers every completed window, in order, one
 * {@link windowStep} at a time (closing a period as soon as its last window is delivered), until a
 * window is not due yet, the meter stops, or a window fails or runs out of attempts.
 *
 * @example
 * const report = await runWindows(ctx, windows, true);
 */
export async function runWindows(ctx: PeriodicContext, windows: WindowState, keepAlive: boolean): Promise<PeriodicRunReport> {
  const s = await windows.load();
  const draft: RunReportDraft = { status: 'idle', windows: [], closed: [] };
  await closeWaitingPeriods(ctx, windows, s, draft, keepAlive);
  while (draft.status === 'idle') {
    if (ctx.signal.aborted) {
      draft.status = 'stopped';
      break;
    }
    if (s.failed) {
      draft.status = 'failed';
      draft.failure = windows.failureOf(s);
      break;
    }
    const step = await windowStep(ctx, windows, s, draft, keepAlive);
    if (step === 'not-due') break;
    if (step === 'delivered') await closeWaitingPeriods(ctx, windows, s, draft, keepAlive);
  }
  return { ...draft, nextStart: new Date(s.nextStart) };
}
