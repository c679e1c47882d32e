// Issue #14, "Must show": the Meter's counters read through the OpenTelemetry API after real
// traffic: a real Express app, delivery to the sandbox over real sockets, and a real OTel SDK
// MeterProvider whose in-memory exporter receives what `observeMeter` reports.
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { createMeter, MeteringConfigError, silentLogger, type Meter } from '@pacspace-metering/core';
import { INSTRUMENT_NAMES, observeMeter } from '@pacspace-metering/core/opentelemetry';
import { meterRequests } from '@pacspace-metering/express';
import { startSandbox, sumByCustomer, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { listen, type RunningApp } from '../packages/express/test-support/harness.js';

/** A real SDK pipeline: a periodic reader that only exports when asked (forceFlush) into memory. */
function sdk(): { provider: MeterProvider; read(): Promise<ResourceMetrics>; shutdown(): Promise<void> } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    async read() {
      exporter.reset();
      await reader.forceFlush();
      const exported = exporter.getMetrics();
      if (exported.length !== 1) throw new Error(`expected one export, got ${exported.length}`);
      return exported[0]!;
    },
    shutdown: () => provider.shutdown(),
  };
}

/** The data points of one instrument, as `{ attributes, value }`. */
function points(resource: ResourceMetrics, name: string): Array<{ attributes: Record<string, unknown>; value: number }> {
  const found: Array<{ attributes: Record<string, unknown>; value: number }> = [];
  for (const scope of resource.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const point of metric.dataPoints as Array<DataPoint<number>>) found.push({ attributes: { ...point.attributes }, value: point.value });
    }
  }
  return found;
}

/** The value of `name` for the Meter of `scope` (and `extra` attributes); undefined when not reported. */
function value(resource: ResourceMetrics, name: string, scope: string, extra: Record<string, string> = {}): number | undefined {
  const match = points(resource, name).filter((p) => p.attributes['pacspace.meter.scope'] === scope && Object.entries(extra).every(([k, v]) => p.attributes[k] === v));
  if (match.length > 1) throw new Error(`${match.length} points for ${name} ${JSON.stringify(extra)}`);
  return match[0]?.value;
}

function unitOf(resource: ResourceMetrics, name: string): string | undefined {
  for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) if (metric.descriptor.name === name) return metric.descriptor.unit;
  return undefined;
}

const SCOPE = 'otel-e2e';

describe('observeMeter: OpenTelemetry metrics after real traffic', () => {
  let sandbox: Sandbox;
  let meter: Meter;
  let running: RunningApp;
  let otel: ReturnType<typeof sdk>;

  beforeAll(async () => {
    // The first write request PacSpace sees fails with a 500: one retry.
    sandbox = await startSandbox({ faults: { serverError: { requests: [1] } } });
    // flushIntervalMs at its maximum: nothing leaves before the test flushes, so each request carries what the test decides.
    meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: SCOPE, flushIntervalMs: 60_000, maxDeltaBytes: 2048, retryBaseDelayMs: 5, retryMaxDelayMs: 20, logger: silentLogger });
    const app = express();
    app.use(
      meterRequests(meter, {
        customerId: (req) => req.get('x-customer'),
        requestIdHeader: 'x-request-id',
        metadata: (req) => (req.query.pad ? { pad: 'x'.repeat(Number(req.query.pad)) } : undefined),
      }),
    );
    app.get('/v1/items/:id', (req, res) => void res.json({ id: req.params.id }));
    app.get('/v1/missing', (_req, res) => void res.status(404).json({ error: 'not found' }));
    running = await listen(app);
    otel = sdk();
  });

  afterAll(async () => {
    await running.close();
    await meter.close({ timeoutMs: 5_000 });
    await otel.shutdown();
    await sandbox.close();
  });

  it('reports accepted, delivered, deduplicated, retried, dropped by reason and the queue, with exact values', async () => {
    const observation = observeMeter(meter, { meterProvider: otel.provider, attributes: { 'service.name': 'otel-e2e-app' } });
    let calls = 0;
    const call = async (path: string, requestId: string) => {
      const res = await fetch(`${running.url}${path}`, { headers: { 'x-customer': 'acme', 'x-request-id': requestId } });
      await res.arrayBuffer();
      await running.waitForDone(++calls);
      return res.status;
    };

    // One success waits in the queue: depth 1, an age, nothing delivered yet.
    expect(await call('/v1/items/1', 'req-1')).toBe(200);
    let read = await otel.read();
    expect(value(read, INSTRUMENT_NAMES.accepted, SCOPE)).toBe(1);
    expect(value(read, INSTRUMENT_NAMES.queued, SCOPE)).toBe(1);
    expect(value(read, INSTRUMENT_NAMES.oldestQueuedAge, SCOPE)).toBeGreaterThanOrEqual(0);
    expect(value(read, INSTRUMENT_NAMES.delivered, SCOPE)).toBe(0);
    expect(value(read, INSTRUMENT_NAMES.paused, SCOPE)).toBe(0);
    expect(value(read, INSTRUMENT_NAMES.dropped, SCOPE, { reason: 'unauthorized' })).toBe(0);
    expect(points(read, INSTRUMENT_NAMES.accepted)[0]!.attributes['service.name']).toBe('otel-e2e-app');
    // The first request gets the sandbox's 500, the retry delivers it.
    await meter.flush({ timeoutMs: 20_000 });

    // Four more successes, one request each.
    for (const id of [2, 3, 4, 5]) {
      expect(await call(`/v1/items/${id}`, `req-${id}`)).toBe(200);
      await meter.flush({ timeoutMs: 20_000 });
    }
    // The same call again (same request id, same URL): the same referenceId, which PacSpace replays.
    expect(await call('/v1/items/1', 'req-1')).toBe(200);
    await meter.flush({ timeoutMs: 20_000 });
    // A 404 is not billed; a delta over maxDeltaBytes is dropped as too_large.
    expect(await call('/v1/missing', 'req-6')).toBe(404);
    expect(await call('/v1/items/7?pad=4000', 'req-7')).toBe(200);
    await meter.flush({ timeoutMs: 20_000 });

    read = await otel.read();
    expect(value(read, INSTRUMENT_NAMES.accepted, SCOPE)).toBe(6);
    expect(value(read, INSTRUMENT_NAMES.delivered, SCOPE)).toBe(6);
    expect(value(read, INSTRUMENT_NAMES.deduplicated, SCOPE)).toBe(1);
    expect(value(read, INSTRUMENT_NAMES.retried, SCOPE)).toBe(1);
    expect(value(read, INSTRUMENT_NAMES.requests, SCOPE)).toBe(7);
    expect(value(read, INSTRUMENT_NAMES.dropped, SCOPE, { reason: 'too_large' })).toBe(1);
    // Every reason is reported, from 0, so that a first drop shows as an increase.
    const dropped = points(read, INSTRUMENT_NAMES.dropped).filter((p) => p.attributes['pacspace.meter.scope'] === SCOPE);
    expect(dropped).toHaveLength(11);
    expect(dropped.filter((p) => p.value > 0).map((p) => p.attributes.reason)).toEqual(['too_large']);
    expect(value(read, INSTRUMENT_NAMES.queued, SCOPE)).toBe(0);
    expect(value(read, INSTRUMENT_NAMES.inFlight, SCOPE)).toBe(0);
    expect(value(read, INSTRUMENT_NAMES.oldestQueuedAge, SCOPE)).toBe(0);
    expect(value(read, INSTRUMENT_NAMES.folded, SCOPE)).toBe(0);
    expect(value(read, INSTRUMENT_NAMES.overflowSums, SCOPE)).toBe(0);
    // What the counters say is what PacSpace holds: five distinct deltas of -1.
    const ledger = sandbox.ledger();
    expect(ledger.deltas).toHaveLength(5);
    expect(sumByCustomer(ledger)).toEqual({ acme: -5 });
    // Units per the OpenTelemetry conventions.
    expect(unitOf(read, INSTRUMENT_NAMES.delivered)).toBe('{delta}');
    expect(unitOf(read, INSTRUMENT_NAMES.oldestQueuedAge)).toBe('s');
    expect(unitOf(read, INSTRUMENT_NAMES.queuedBytes)).toBe('By');
    // The same figures as stats(): the exporter adds nothing and loses nothing.
    const stats = meter.stats();
    expect([stats.accepted, stats.delivered, stats.deduplicated, stats.retried, stats.requests, stats.dropped.too_large]).toEqual([6, 6, 1, 1, 7, 1]);
    expect(observation.stopped).toBe(false);
    // After stop() the Meter is no longer read: a new delivery does not reach the exporter (a
    // cumulative SDK keeps repeating the last value it saw).
    observation.stop();
    observation.stop();
    expect(observation.stopped).toBe(true);
    expect(await call('/v1/items/8', 'req-8')).toBe(200);
    await meter.flush({ timeoutMs: 20_000 });
    expect(meter.stats().delivered).toBe(7);
    read = await otel.read();
    expect(value(read, INSTRUMENT_NAMES.delivered, SCOPE)).toBe(6);
  });

  it('reports failed by error.type and dropped unauthorized for a Meter whose key PacSpace refuses, and unregisters once it is closed and collected', async () => {
    const badScope = 'otel-e2e-bad-key';
    const bad = createMeter({ apiKey: 'pk_test_wrong.key', baseUrl: sandbox.url, scope: badScope, logger: silentLogger });
    // The same Meter, counting how often the callback reads it.
    let reads = 0;
    const counted: Meter = { ...bad, stats: () => (reads++, bad.stats()) };
    const observation = observeMeter(counted, { meterProvider: otel.provider });
    await expect(bad.emit({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: 'bad-1' })).rejects.toMatchObject({ status: 401 });
    let read = await otel.read();
    expect(value(read, INSTRUMENT_NAMES.dropped, badScope, { reason: 'unauthorized' })).toBe(1);
    const failed = points(read, INSTRUMENT_NAMES.failed).filter((p) => p.attributes['pacspace.meter.scope'] === badScope);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.value).toBe(1);
    expect(failed[0]!.attributes['error.type']).toBe(Object.keys(bad.stats().failed)[0]);

    await bad.close({ timeoutMs: 5_000 });
    // The collection after close still carries the final counts...
    read = await otel.read();
    expect(value(read, INSTRUMENT_NAMES.accepted, badScope)).toBe(1);
    expect(observation.stopped).toBe(true);
    // ...and then the callback is gone: the next collection does not read the Meter.
    const readsAfterClose = reads;
    await otel.read();
    expect(reads).toBe(readsAfterClose);
  });

  it('uses the global MeterProvider when none is given: a no-op until the app registers an SDK', async () => {
    const quiet = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'otel-e2e-global' });
    try {
      // Before any SDK: observing works and reports nowhere.
      const before = observeMeter(quiet);
      quiet.enqueue({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: 'global-1' });
      const none = await otel.read();
      expect(value(none, INSTRUMENT_NAMES.accepted, 'otel-e2e-global')).toBeUndefined();
      before.stop();
      metrics.setGlobalMeterProvider(otel.provider);
      const observation = observeMeter(quiet);
      const read = await otel.read();
      expect(value(read, INSTRUMENT_NAMES.accepted, 'otel-e2e-global')).toBe(1);
      observation.stop();
    } finally {
      metrics.disable();
      await quiet.close({ timeoutMs: 5_000 });
    }
  });
});

describe('observeMeter: bad arguments', () => {
  it.each([
    ['meter', undefined, {}],
    ['meter', { scope: 'x' }, {}],
    ['meterProvider', 'meter', { meterProvider: {} }],
    ['name', 'meter', { name: '' }],
    ['attributes', 'meter', { attributes: ['a'] }],
  ])('names %s', (field, meterArg, options) => {
    const meter = createMeter({ enabled: false, logger: silentLogger });
    let error: unknown;
    try {
      observeMeter((meterArg === 'meter' ? meter : meterArg) as Meter, options as never);
    } catch (err) {
      error = err;
    }
    void meter.close();
    expect(error).toBeInstanceOf(MeteringConfigError);
    expect((error as MeteringConfigError).option).toBe(field);
  });
});
