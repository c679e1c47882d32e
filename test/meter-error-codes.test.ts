// Issue 20, item 11: an upstream's free-text error strings (a chatty proxy that answers each
// batch item with a sentence naming the customer) must not become metric series or stats() keys:
// `stats().failed`, prom-client's `error_type` and OpenTelemetry's `error.type` carry known codes
// or OTHER, while the raw text stays (bounded) in the hooks. Real sockets: the Meter delivers
// through a proxy on 127.0.0.1 that answers the batch endpoint itself.
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { createMeter, silentLogger, type DropEvent, type PacSpaceApiError } from '@pacspace-metering/core';
import { INSTRUMENT_NAMES, observeMeter } from '@pacspace-metering/core/opentelemetry';
import { collectMeterMetrics } from '@pacspace-metering/core/prometheus';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { Registry } from 'prom-client';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.js';
import { BATCH } from './support/upstream-answers.js';

const CUSTOMERS = 60;

/** A 201 batch answer in PacSpace's envelope whose every item failed with a sentence, not a code. */
function chattyAnswer(body: string) {
  const deltas = (JSON.parse(body) as { deltas: Array<{ customerId: string }> }).deltas;
  const results = deltas.map((d, index) => ({
    index,
    status: 'FAILED',
    error: `Customer ${d.customerId} is blocked by upstream policy ${index}`,
    message: `Request for ${d.customerId} refused: ${'details '.repeat(400)}`,
  }));
  return { status: 201, body: { success: true, statusCode: 201, data: { totalQueued: 0, totalFailed: deltas.length, results } } };
}

describe('error codes from upstream, as stats() keys and metric labels', () => {
  let sandbox: Sandbox;
  let proxy: RecordingProxy;

  beforeAll(async () => {
    sandbox = await startSandbox();
    proxy = await startRecordingProxy(sandbox.url, (path, { body }) => (path === BATCH ? chattyAnswer(body) : undefined));
  });
  afterAll(async () => {
    await proxy.close();
    await sandbox.close();
  });

  it('counts free-text item errors as OTHER in stats().failed and both exporters, and keeps the text (bounded) for onDrop', async () => {
    const drops: DropEvent[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: proxy.url, scope: 'chatty', logger: silentLogger, onDrop: (d) => drops.push(d) });
    const registry = new Registry();
    collectMeterMetrics(meter, { register: registry });
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const observation = observeMeter(meter, { meterProvider: provider });

    for (let i = 0; i < CUSTOMERS; i++) meter.enqueue({ customerId: `cust-${i}`, delta: -1, reason: 'api_request', requestId: `c-${i}` });
    await meter.flush({ timeoutMs: 30_000 });

    expect(meter.stats()).toMatchObject({ dropped: { rejected: CUSTOMERS }, failed: { OTHER: CUSTOMERS } });
    expect(Object.keys(meter.stats().failed)).toEqual(['OTHER']);

    const text = await registry.metrics();
    const failedLines = text.split('\n').filter((line) => line.startsWith('pacspace_meter_deltas_failed_total{'));
    expect(failedLines).toEqual(['pacspace_meter_deltas_failed_total{pacspace_meter_scope="chatty",error_type="OTHER"} 60']);
    expect(text).not.toContain('cust-');

    await reader.forceFlush();
    const failedPoints = exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
      .filter((metric) => metric.descriptor.name === INSTRUMENT_NAMES.failed)
      .flatMap((metric) => metric.dataPoints as Array<DataPoint<number>>);
    expect(failedPoints.map((p) => [p.attributes['error.type'], p.value])).toEqual([['OTHER', CUSTOMERS]]);

    // The hooks keep what the upstream said, bounded.
    expect(drops).toHaveLength(CUSTOMERS);
    const error = drops[0]!.error as PacSpaceApiError;
    expect(error.code).toBe('Customer cust-0 is blocked by upstream policy 0');
    expect(error.message).toContain('Request for cust-0 refused');
    expect(Math.max(...drops.map((d) => d.error.message.length))).toBeLessThan(1_000);

    observation.stop();
    await provider.shutdown();
    await meter.close();
  });

  it('clamps the codes of any Meter-shaped object the exporters are given, not only createMeter()\'s', async () => {
    const real = createMeter({ enabled: false, scope: 'shaped', logger: silentLogger });
    const shaped = { ...real, scope: 'shaped', stats: () => ({ ...real.stats(), failed: { TIMEOUT: 2, 'cust-7 said no': 1, 'cust-8 said no': 1 } }) };
    const registry = new Registry();
    collectMeterMetrics(shaped, { register: registry });
    const lines = (await registry.metrics()).split('\n').filter((line) => line.startsWith('pacspace_meter_deltas_failed_total{'));
    expect(lines.sort()).toEqual([
      'pacspace_meter_deltas_failed_total{pacspace_meter_scope="shaped",error_type="OTHER"} 2',
      'pacspace_meter_deltas_failed_total{pacspace_meter_scope="shaped",error_type="TIMEOUT"} 2',
    ]);
    await real.close();
  });
});
