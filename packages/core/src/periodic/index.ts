/**
 * Periodic and hybrid metering: grouped submissions per UTC-aligned window, aggregation for
 * high-volume routes, period checkpoints and reconciliation. See README.md in this folder.
 *
 * @example
 * import { createPeriodicMeter, createAggregatingMeter, reconcile } from '@pacspace-metering/core';
 */
export { createPeriodicMeter } from './periodic-meter.js';
export type { PeriodicMeter, PeriodicRunReport, PeriodicStatus } from './periodic-meter.js';
export { PERIODIC_OPTION_NAMES } from './periodic-options.js';
export type { ClosePeriodOptions, CollectWindow, PeriodCloseReport, PeriodicMeterOptions, PeriodicRetryEvent, WindowFailure, WindowReport } from './periodic-options.js';
export type { UsageSnapshot } from './snapshots.js';
export { createJsonFileStateStore, createMemoryStateStore } from './state-store.js';
export type { FailedItem, FailedWindowState, FrozenItem, PendingWindowState, PeriodicState, PeriodicStateStore } from './state-store.js';
export { createAggregatingMeter } from './aggregation/aggregating-meter.js';
export type { AggregatingMeter, AggregatingMeterOptions, AggregationStats } from './aggregation/aggregating-meter.js';
export type { CheckpointOptions, CheckpointReceipt } from '../client/checkpoint.js';
export { createSentTally, reconcile } from './reconcile.js';
export type { ReconcileOptions, ReconciliationReport, SentTally } from './reconcile.js';
export { parseInterval, periodBounds, periodOf, windowContaining, windowKey } from './interval.js';
export type { IntervalSpec, TimeWindow } from './interval.js';
export { aggregateReferenceId, batchKey, checkpointKey, snapshotReferenceId } from './keys.js';
export type { RetryOptions } from '../delivery/retry.js';
