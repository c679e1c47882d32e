import { MeteringError } from '../errors.js';
import { deliverWindow, type WindowDeliveryResult, type WindowDeliveryContext, type WindowInDelivery } from './deliver-window.js';
import { periodOf, windowKey, type TimeWindow } from './interval.js';
import { collectWithRetry } from './collect-window.js';
import { iso, type PeriodicContext } from './periodic-context.js';
import type { WindowReport } from './periodic-options.js';
import type { RunReportDraft } from './run-report.js';
import { prepareWindow } from './snapshots.js';
import type { PendingWindowState, PeriodicState } from './state-store.js';
import type { WindowState } from './window-state.js';

/**
 * Takes the next window one step: `not-due` when it has not ended yet (plus `delayMs`); otherwise
 * collects and freezes it (unless it is frozen already), delivers it, and records what happened:
 * `delivered` (the position moves on, the report is in `draft.windows`), or `ended` with
 * `draft.status` saying why the run stops (`retrying`, `failed`, `stopped`).
 *
 * @example
 * while ((await windowStep(ctx, windows, s, draft, false)) === 'delivered') await closeWaitingPeriods(...);
 */
export async function windowStep(ctx: PeriodicContext, windows: WindowState, s: PeriodicState, draft: RunReportDraft, keepAlive: boolean): Promise<'not-due' | 'delivered' | 'ended'> {
  const window = windows.currentWindow(s);
  if (ctx.clock() < window.end + ctx.config.delayMs) return 'not-due';
  const frozen = await freezeWindow(ctx, windows, s, window, draft, keepAlive);
  if (!frozen) return 'ended';
  const pending = frozen.pending;
  const inDelivery: WindowInDelivery = { windowKey: windowKey(window), items: pending.items, round: pending.round, failures: frozen.failures, requests: 0, rounds: 0 };
  const result: WindowDeliveryResult = pending.items.length === 0 ? { kind: 'delivered', delivered: 0, replayed: 0 } : await deliverWindow(deliveryContext(ctx, windows, s, window, keepAlive), inDelivery);
  if (result.kind === 'delivered') {
    await recordDelivered(ctx, windows, s, window, pending, inDelivery, result, draft);
    return 'delivered';
  }
  if (result.kind === 'retry') {
    const key = windowKey(window);
    draft.status = 'retrying';
    draft.retry = { start: new Date(window.start), end: new Date(window.end), key, error: result.error, attempts: inDelivery.failures, delayMs: result.delayMs };
    ctx.logger.warn({ window: key, attempts: inDelivery.failures, err: result.error }, 'pacspace-metering: periodic window not delivered yet; it is retried later with the same keys');
  } else if (result.kind === 'failed') {
    await windows.failWindow(s, window, result.error, result.items, draft);
  } else {
    draft.status = 'stopped';
  }
  return 'ended';
}

/**
 * The window's frozen snapshots: the pending ones, or collected (with retry) and frozen now, saved
 * before anything is sent. Undefined when the run ends here (`draft.status` says why).
 */
async function freezeWindow(ctx: PeriodicContext, windows: WindowState, s: PeriodicState, window: TimeWindow, draft: RunReportDraft, keepAlive: boolean): Promise<{ pending: PendingWindowState; failures: number } | undefined> {
  if (s.pending && !s.pending.recollect) return { pending: s.pending, failures: 0 };
  const collected = await collectWithRetry(ctx, window, draft, keepAlive);
  if (!collected) return undefined;
  let prepared;
  try {
    prepared = prepareWindow(collected.snapshots, { scope: ctx.config.scope, name: ctx.config.name, window });
  } catch (err) {
    if (!(err instanceof MeteringError)) throw err;
    await windows.failWindow(s, window, err, [], draft);
    return undefined;
  }
  s.pending = { start: iso(window.start), end: iso(window.end), round: s.pending?.round ?? 0, skipped: prepared.skipped, items: prepared.items };
  await windows.save(s);
  return { pending: s.pending, failures: collected.failures };
}

/** Moves the position past a delivered window, queues its period for closing if it ended one, and tells the user. */
async function recordDelivered(
  ctx: PeriodicContext,
  windows: WindowState,
  s: PeriodicState,
  window: TimeWindow,
  pending: PendingWindowState,
  inDelivery: WindowInDelivery,
  result: WindowDeliveryResult & { kind: 'delivered' },
  draft: RunReportDraft,
): Promise<void> {
  const key = windowKey(window);
  const period = periodOf(window.start);
  s.nextStart = pending.end;
  s.pending = null;
  s.lastCompleted = { start: pending.start, end: pending.end, items: pending.items.length, completedAt: iso(ctx.clock()) };
  const endsPeriod = periodOf(window.end - 1) !== periodOf(window.end);
  if (ctx.config.closePeriods && endsPeriod && !s.closing.includes(period) && !s.checkpointed.some((c) => c.period === period)) s.closing.push(period);
  await windows.save(s);
  let total = 0;
  for (const item of pending.items) {
    total += item.delta;
    ctx.options.tally?.record(item.customerId, item.delta, item.referenceId);
  }
  const report: WindowReport = {
    start: new Date(window.start),
    end: new Date(window.end),
    key,
    period,
    items: pending.items.length,
    skipped: pending.skipped,
    delivered: result.delivered,
    replayed: result.replayed,
    total,
    requests: inDelivery.requests,
    rounds: inDelivery.rounds,
  };
  draft.windows.push(report);
  ctx.logger.info({ window: key, items: report.items, replayed: report.replayed, requests: report.requests }, 'pacspace-metering: periodic window delivered');
  ctx.hook('onWindow', report);
}

/** The window delivery's view of the meter: its sender, keys, policy, and how a new key round is saved and a retry told. */
function deliveryContext(ctx: PeriodicContext, windows: WindowState, s: PeriodicState, window: TimeWindow, keepAlive: boolean): WindowDeliveryContext {
  const { config, logger } = ctx;
  return {
    sender: ctx.sender,
    mode: ctx.mode,
    scope: config.scope,
    name: config.name,
    maxBatchSize: config.maxBatchSize,
    policy: ctx.policy,
    random: ctx.random,
    keepAlive,
    signal: ctx.signal,
    async beginRound(round) {
      s.pending!.round = round;
      await windows.save(s);
    },
    onRetry(event) {
      logger.debug({ key: event.key, attempt: event.attempt, delayMs: event.delayMs, err: event.error }, 'pacspace-metering: retrying periodic batch');
      ctx.hook('onRetry', { start: new Date(window.start), end: new Date(window.end), key: windowKey(window), attempt: event.attempt, delayMs: event.delayMs, error: event.error });
    },
  };
}
