import { Counter, Gauge, register as defaultRegister, type Registry } from 'prom-client';
import { MeteringConfigError } from '../errors.js';
import type { BalanceGate } from '../balance/balance-gate.js';
import { GATE_FIGURES, type GateFigure } from '../balance/gate-metrics.js';
import type { MeterCollection } from './collect-meter-metrics.js';

/** The gates each registry reports (metrics created with the first gate, removed with the last). */
const perRegistry = new WeakMap<Registry, Set<BalanceGate>>();
const SCOPE = 'pacspace_meter_scope';

/** `pacspace_gate_checks_total`, `pacspace_gate_customers`, ... */
function promName(figure: GateFigure): string {
  return `pacspace_gate_${figure.name}${figure.kind === 'counter' ? '_total' : ''}`;
}

const METRICS = new Map<string, GateFigure[]>();
for (const figure of GATE_FIGURES) METRICS.set(promName(figure), [...(METRICS.get(promName(figure)) ?? []), figure]);

/**
 * Publishes a balance gate's `stats()` as prom-client metrics (entry point
 * `@pacspace-metering/core/prometheus`): `pacspace_gate_checks_total`,
 * `pacspace_gate_decisions_total{decision="allowed|refused|unavailable_served|unavailable_refused|invalid"}`,
 * `pacspace_gate_cache_total{result="hit|stale|wait"}`,
 * `pacspace_gate_reads_total{kind="derive|status|fleet"}` and `pacspace_gate_read_failures_total{kind}`,
 * `pacspace_gate_evicted_total`, `pacspace_gate_held_dropped_total`, and the gauges
 * `pacspace_gate_customers`, `pacspace_gate_running`, `pacspace_gate_held_deliveries`,
 * `pacspace_gate_reads_in_flight`; each labelled `pacspace_meter_scope` (the gated Meter's scope).
 * The same names as `observeGate` through OpenTelemetry's Prometheus exporter. Nothing runs per
 * request: one `stats()` per gate per metric at scrape time. Bad arguments throw a
 * {@link MeteringConfigError} naming them.
 *
 * @example
 * import { collectGateMetrics } from '@pacspace-metering/core/prometheus';
 * collectGateMetrics(gate);
 */
export function collectGateMetrics(gate: BalanceGate, options: { register?: Registry | undefined } = {}): MeterCollection {
  const g = gate as Partial<BalanceGate> | null;
  if (g === null || typeof g !== 'object' || typeof g.stats !== 'function' || typeof g.scope !== 'string') {
    throw new MeteringConfigError('gate', 'must be a balance gate from createBalanceGate(meter)');
  }
  const register = options?.register ?? defaultRegister;
  if (typeof (register as Partial<Registry> | null)?.registerMetric !== 'function') throw new MeteringConfigError('register', 'must be a prom-client Registry');
  let gates = perRegistry.get(register);
  if (!gates || register.getSingleMetric('pacspace_gate_checks_total') === undefined) {
    const taken = [...METRICS.keys()].filter((name) => register.getSingleMetric(name) !== undefined);
    if (taken.length > 0) throw new MeteringConfigError('register', `already has metrics named ${taken.join(', ')} that are not this package's; give collectGateMetrics a registry of its own`);
    gates = new Set();
    perRegistry.set(register, gates);
    createMetrics(register, gates);
  }
  gates.add(gate);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      gates.delete(gate);
      if (gates.size > 0) return;
      perRegistry.delete(register);
      for (const name of METRICS.keys()) register.removeSingleMetric(name);
    },
    get stopped() {
      return stopped;
    },
  };
}

function createMetrics(register: Registry, gates: Set<BalanceGate>): void {
  for (const [name, figures] of METRICS) {
    const labelNames = figures[0]!.attribute ? [SCOPE, figures[0]!.attribute[0]] : [SCOPE];
    const collect = function (this: Counter | Gauge) {
      this.reset();
      for (const gate of gates) {
        const stats = gate.stats();
        for (const figure of figures) {
          const labels = figure.attribute ? { [SCOPE]: gate.scope, [figure.attribute[0]]: figure.attribute[1] } : { [SCOPE]: gate.scope };
          if (this instanceof Counter) this.inc(labels, figure.read(stats));
          else this.set(labels, figure.read(stats));
        }
      }
    };
    const help = figures[0]!.help;
    if (figures[0]!.kind === 'counter') new Counter({ name, help, labelNames, registers: [register], collect });
    else new Gauge({ name, help, labelNames, registers: [register], collect });
  }
}
