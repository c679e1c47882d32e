/**
 * `@pacspace-metering/core/prometheus`: the Meter's health as prom-client metrics. A separate
 * entry point, so an app without prom-client (an optional peer dependency) never loads it.
 *
 * @example
 * import { collectMeterMetrics } from '@pacspace-metering/core/prometheus';
 * collectMeterMetrics(meter);
 */
export { collectMeterMetrics } from './collect-meter-metrics.js';
export type { CollectMeterMetricsOptions, MeterCollection } from './collect-meter-metrics.js';
export { collectGateMetrics } from './collect-gate-metrics.js';
