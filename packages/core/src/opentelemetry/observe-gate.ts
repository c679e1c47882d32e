import { metrics, type Attributes, type BatchObservableCallback, type Observable } from '@opentelemetry/api';
import type { BalanceGate } from '../balance/balance-gate.js';
import { GATE_FIGURES } from '../balance/gate-metrics.js';
import { MeteringConfigError } from '../errors.js';
import type { MeterObservation, ObserveMeterOptions } from './observe-meter.js';

/**
 * Publishes a balance gate's `stats()` through the OpenTelemetry metrics API (entry point
 * `@pacspace-metering/core/opentelemetry`): `pacspace.gate.checks`, `pacspace.gate.decisions`
 * (attribute `decision`: allowed, refused, unavailable_served, unavailable_refused, invalid),
 * `pacspace.gate.cache` (`result`: hit, stale, wait), `pacspace.gate.reads` and
 * `pacspace.gate.read_failures` (`kind`: derive, status, fleet), `pacspace.gate.evicted`,
 * `pacspace.gate.held_dropped` (counters), and `pacspace.gate.customers`, `pacspace.gate.running`,
 * `pacspace.gate.held_deliveries`, `pacspace.gate.reads_in_flight`. Each observation carries
 * `pacspace.meter.scope` (the gated Meter's scope) and `options.attributes`. One batch callback
 * reads `stats()` when the SDK collects; nothing runs per request. A bad argument throws a
 * {@link MeteringConfigError} naming it.
 *
 * @example
 * import { observeGate } from '@pacspace-metering/core/opentelemetry';
 * observeGate(gate);
 */
export function observeGate(gate: BalanceGate, options: ObserveMeterOptions = {}): MeterObservation {
  const g = gate as Partial<BalanceGate> | null;
  if (g === null || typeof g !== 'object' || typeof g.stats !== 'function' || typeof g.scope !== 'string') {
    throw new MeteringConfigError('gate', 'must be a balance gate from createBalanceGate(meter)');
  }
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object of { meterProvider, name, attributes }');
  const otel = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(options.name ?? '@pacspace-metering/core');
  const instruments = new Map<string, Observable>();
  for (const figure of GATE_FIGURES) {
    if (instruments.has(figure.name)) continue;
    const name = `pacspace.gate.${figure.name}`;
    const spec = { unit: figure.unit, description: figure.help };
    instruments.set(figure.name, figure.kind === 'counter' ? otel.createObservableCounter(name, spec) : otel.createObservableUpDownCounter(name, spec));
  }
  const base: Attributes = { 'pacspace.meter.scope': gate.scope, ...options.attributes };
  const attributes = GATE_FIGURES.map((f): Attributes => (f.attribute ? { ...base, [f.attribute[0]]: f.attribute[1] } : base));
  let stopped = false;
  const callback: BatchObservableCallback = (result) => {
    if (stopped) return;
    const stats = gate.stats();
    GATE_FIGURES.forEach((figure, i) => result.observe(instruments.get(figure.name)!, figure.read(stats), attributes[i]!));
  };
  otel.addBatchObservableCallback(callback, [...instruments.values()]);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      otel.removeBatchObservableCallback(callback, [...instruments.values()]);
    },
    get stopped() {
      return stopped;
    },
  };
}
