/**
 * `@pacspace-metering/core/opentelemetry`: the Meter's health as OpenTelemetry metrics. A separate
 * entry point, so an app that does not use OpenTelemetry never loads `@opentelemetry/api` (an
 * optional peer dependency).
 *
 * @example
 * import { observeMeter } from '@pacspace-metering/core/opentelemetry';
 * observeMeter(meter);
 */
export { observeMeter } from './observe-meter.js';
export type { MeterObservation, ObserveMeterOptions } from './observe-meter.js';
export { INSTRUMENT_NAMES } from './instruments.js';
export { observeGate } from './observe-gate.js';
