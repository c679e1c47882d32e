// Issue 22: a balance gate's stats() as Prometheus (prom-client) and OpenTelemetry metrics, after
// real traffic through a gated Express app against the sandbox.
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { MeteringConfigError, silentLogger } from '@pacspace-metering/core';
import { observeGate } from '@pacspace-metering/core/opentelemetry';
import { collectGateMetrics } from '@pacspace-metering/core/prometheus';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { Registry } from 'prom-client';
import { gatedApp, type GatedApp } from './support/gated-app.js';

describe('balance gate metrics', () => {
  let sandbox: Sandbox;
  let gated: GatedApp;

  beforeAll(async () => {
    sandbox = await startSandbox();
    gated = await gatedApp(sandbox, { logger: silentLogger });
    sandbox.topUp('metrics', 3);
    for (let i = 0; i < 5; i++) await gated.call('metrics'); // 3 allowed, 2 refused
  });
  afterAll(async () => {
    await gated.close();
    await sandbox.close();
  });

  it('Prometheus: decisions, cache results and reads as labelled counters, gauges, per gated Meter scope', async () => {
    const register = new Registry();
    const collection = collectGateMetrics(gated.gate, { register });
    const metrics = await register.getMetricsAsJSON();
    const value = (name: string, labels: Record<string, string> = {}) =>
      metrics.find((m) => m.name === name)?.values.find((v) => Object.entries({ pacspace_meter_scope: 'gate-e2e', ...labels }).every(([k, l]) => v.labels[k] === l))?.value;
    expect(value('pacspace_gate_checks_total')).toBe(5);
    expect(value('pacspace_gate_decisions_total', { decision: 'allowed' })).toBe(3);
    expect(value('pacspace_gate_decisions_total', { decision: 'refused' })).toBe(2);
    expect(value('pacspace_gate_decisions_total', { decision: 'unavailable_served' })).toBe(0);
    expect(value('pacspace_gate_cache_total', { result: 'wait' })).toBe(1);
    expect(value('pacspace_gate_cache_total', { result: 'hit' })).toBe(4);
    expect(value('pacspace_gate_reads_total', { kind: 'derive' })).toBe(1);
    expect(value('pacspace_gate_customers')).toBe(1);
    expect(metrics.find((m) => m.name === 'pacspace_gate_running')?.type).toBe('gauge');
    collection.stop();
    expect(await register.getMetricsAsJSON()).toEqual([]);
    expect(() => collectGateMetrics({} as never)).toThrow(MeteringConfigError);
  });

  it('OpenTelemetry: the same figures under pacspace.gate.*', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const observation = observeGate(gated.gate, { meterProvider: provider });
    await reader.forceFlush();
    const exported = exporter.getMetrics()[0]!.scopeMetrics.flatMap((s) => s.metrics);
    const point = (name: string, attribute?: [string, string]) =>
      (exported.find((m) => m.descriptor.name === name)?.dataPoints as Array<DataPoint<number>> | undefined)?.find((p) => p.attributes['pacspace.meter.scope'] === 'gate-e2e' && (!attribute || p.attributes[attribute[0]] === attribute[1]))?.value;
    expect(point('pacspace.gate.checks')).toBe(5);
    expect(point('pacspace.gate.decisions', ['decision', 'refused'])).toBe(2);
    expect(point('pacspace.gate.reads', ['kind', 'derive'])).toBe(1);
    expect(point('pacspace.gate.customers')).toBe(1);
    observation.stop();
    await provider.shutdown();
  });
});
