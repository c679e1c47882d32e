// Issue #14: the Meter's counters scraped as Prometheus text from a real Express app's /metrics
// route (prom-client), after real traffic delivered to the sandbox over real sockets.
import { createMeter, MeteringConfigError, silentLogger, type Meter } from '@pacspace-metering/core';
import { collectMeterMetrics } from '@pacspace-metering/core/prometheus';
import { meterRequests } from '@pacspace-metering/express';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { Counter, Registry } from 'prom-client';
import { listen, type RunningApp } from '../packages/express/test-support/harness.js';

/** `name{a="x",b="y"} value` lines of a scrape, as { name, labels, value }. */
function parse(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const samples = [];
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const found = parse(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples for ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

describe('collectMeterMetrics: prom-client metrics after real traffic', () => {
  let sandbox: Sandbox;
  let meter: Meter;
  let bad: Meter;
  let registry: Registry;
  let running: RunningApp;

  beforeAll(async () => {
    sandbox = await startSandbox();
    meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'prom-e2e', maxDeltaBytes: 2048, logger: silentLogger });
    bad = createMeter({ apiKey: 'pk_test_wrong.key', baseUrl: sandbox.url, scope: 'prom-e2e-bad-key', logger: silentLogger });
    registry = new Registry();
    const app = express();
    app.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));
    app.use(
      meterRequests(meter, {
        customerId: (req) => req.get('x-customer'),
        metadata: (req) => (req.query.pad ? { pad: 'x'.repeat(Number(req.query.pad)) } : undefined),
      }),
    );
    app.get('/v1/items/:id', (req, res) => void res.json({ id: req.params.id }));
    app.get('/v1/missing', (_req, res) => void res.status(404).json({ error: 'not found' }));
    running = await listen(app);
  });

  afterAll(async () => {
    await running.close();
    await meter.close({ timeoutMs: 5_000 });
    await bad.close({ timeoutMs: 5_000 });
    await sandbox.close();
  });

  const scrape = async () => {
    const res = await fetch(`${running.url}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };

  it('reports exact counts per Meter, every drop reason from 0, failures by error_type, then takes a closed Meter out', async () => {
    const collection = collectMeterMetrics(meter, { register: registry });
    const badCollection = collectMeterMetrics(bad, { register: registry });
    let done = 0;
    let scrapes = 0;
    const call = async (path: string) => {
      const res = await fetch(`${running.url}${path}`, { headers: { 'x-customer': 'acme' } });
      await res.arrayBuffer();
      // The /metrics scrapes are requests of this app too; count only the metered paths' completions.
      await running.waitForDone(++done + scrapes);
      return res.status;
    };
    const counted = async () => {
      scrapes++;
      return scrape();
    };

    let text = await counted();
    expect(sample(text, 'pacspace_meter_deltas_accepted_total', { pacspace_meter_scope: 'prom-e2e' })).toBe(0);
    expect(sample(text, 'pacspace_meter_deltas_dropped_total', { pacspace_meter_scope: 'prom-e2e', reason: 'too_large' })).toBe(0);

    for (const id of [1, 2, 3]) expect(await call(`/v1/items/${id}`)).toBe(200);
    expect(await call('/v1/missing')).toBe(404);
    expect(await call('/v1/items/4?pad=4000')).toBe(200);
    await meter.flush({ timeoutMs: 20_000 });
    await expect(bad.emit({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: 'bad-1' })).rejects.toMatchObject({ status: 401 });

    text = await counted();
    const own = { pacspace_meter_scope: 'prom-e2e' };
    expect(sample(text, 'pacspace_meter_deltas_accepted_total', own)).toBe(3);
    expect(sample(text, 'pacspace_meter_deltas_delivered_total', own)).toBe(3);
    expect(sample(text, 'pacspace_meter_deltas_deduplicated_total', own)).toBe(0);
    expect(sample(text, 'pacspace_meter_queue_depth', own)).toBe(0);
    expect(sample(text, 'pacspace_meter_queue_oldest_age', own)).toBe(0);
    expect(sample(text, 'pacspace_meter_paused', own)).toBe(0);
    const dropped = parse(text).filter((s) => s.name === 'pacspace_meter_deltas_dropped_total' && s.labels.pacspace_meter_scope === 'prom-e2e');
    expect(dropped).toHaveLength(11);
    expect(dropped.filter((s) => s.value > 0).map((s) => [s.labels.reason, s.value])).toEqual([['too_large', 1]]);
    expect(sandbox.ledger().deltas).toHaveLength(3);
    // The Meter whose key PacSpace refuses, in the same registry.
    const badLabels = { pacspace_meter_scope: 'prom-e2e-bad-key' };
    expect(sample(text, 'pacspace_meter_deltas_dropped_total', { ...badLabels, reason: 'unauthorized' })).toBe(1);
    const failed = parse(text).filter((s) => s.name === 'pacspace_meter_deltas_failed_total' && s.labels.pacspace_meter_scope === 'prom-e2e-bad-key');
    expect(failed.map((s) => [s.labels.error_type, s.value])).toEqual([[Object.keys(bad.stats().failed)[0], 1]]);
    expect(text).toContain('# TYPE pacspace_meter_deltas_delivered_total counter');
    expect(text).toContain('# TYPE pacspace_meter_queue_depth gauge');

    // Closed: the next scrape has its final counts, then it is gone; the other Meter stays.
    await bad.close({ timeoutMs: 5_000 });
    text = await counted();
    expect(sample(text, 'pacspace_meter_deltas_accepted_total', badLabels)).toBe(1);
    expect(badCollection.stopped).toBe(true);
    text = await counted();
    expect(sample(text, 'pacspace_meter_deltas_accepted_total', badLabels)).toBeUndefined();
    expect(sample(text, 'pacspace_meter_deltas_accepted_total', own)).toBe(3);

    // The last Meter stopped: the metrics leave the registry.
    collection.stop();
    collection.stop();
    text = await counted();
    expect(text).not.toContain('pacspace_meter_');
  });

  it('refuses bad arguments and a registry whose names are taken, naming the field', () => {
    const taken = new Registry();
    new Counter({ name: 'pacspace_meter_requests_total', help: 'someone else', registers: [taken] });
    const quiet = createMeter({ enabled: false, logger: silentLogger });
    const cases: Array<[string, () => unknown]> = [
      ['meter', () => collectMeterMetrics(undefined as never)],
      ['meter', () => collectMeterMetrics({ scope: 'x' } as never)],
      ['register', () => collectMeterMetrics(quiet, { register: {} as never })],
      ['register', () => collectMeterMetrics(quiet, { register: taken })],
    ];
    for (const [field, call] of cases) {
      let error: unknown;
      try {
        call();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(MeteringConfigError);
      expect((error as MeteringConfigError).option).toBe(field);
    }
    void quiet.close();
  });
});
