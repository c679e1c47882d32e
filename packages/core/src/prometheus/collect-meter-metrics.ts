import { Counter, Gauge, register as defaultRegister, type Registry } from 'prom-client';
import { MeteringConfigError } from '../errors.js';
import type { Meter } from '../meter-api.js';
import type { MeterStats } from '../reporting/stats.js';
import { DROP_REASONS } from '../reporting/drop-reasons.js';
import { clampErrorCounts } from '../client/error-codes.js';

/**
 * Options of {@link collectMeterMetrics}.
 *
 * @example
 * collectMeterMetrics(meter, { register: new Registry() });
 */
export interface CollectMeterMetricsOptions {
  /** The prom-client registry the metrics are registered in. Default: prom-client's global `register`. */
  register?: Registry | undefined;
}

/**
 * What {@link collectMeterMetrics} returns: `stop()` takes the Meter out of the metrics
 * (idempotent); the metrics leave the registry with the last Meter.
 *
 * @example
 * const collection = collectMeterMetrics(meter);
 * collection.stop();
 */
export interface MeterCollection {
  stop(): void;
  /** True once stopped, by `stop()` or after the first scrape that saw the Meter closed. */
  readonly stopped: boolean;
}

type Read = (stats: MeterStats) => number;
interface Entry {
  meter: Meter;
  snapshot: MeterStats | undefined;
  stopped: boolean;
  stop: () => void;
}

/**
 * The metrics, named as `@opentelemetry/exporter-prometheus` writes `observeMeter`'s instruments,
 * so one dashboard serves both. Counters read a total, gauges a current value.
 */
const COUNTERS: Array<[name: string, help: string, read: Read]> = [
  ['pacspace_meter_deltas_accepted_total', 'Deltas accepted for delivery (folded ones included).', (s) => s.accepted],
  ['pacspace_meter_deltas_delivered_total', 'Deltas PacSpace has recorded, replays included; an overflow sum counts once.', (s) => s.delivered],
  ['pacspace_meter_deltas_deduplicated_total', 'Delivered deltas that were replays of an earlier committed attempt.', (s) => s.deduplicated],
  ['pacspace_meter_deltas_retried_total', 'Retries scheduled, per delta.', (s) => s.retried],
  ['pacspace_meter_deltas_folded_total', 'Deltas added to an overflow sum because the queue was full.', (s) => s.folded],
  ['pacspace_meter_requests_total', 'Requests sent to PacSpace (a batch counts once).', (s) => s.requests],
];
const GAUGES: Array<[name: string, help: string, read: Read]> = [
  ['pacspace_meter_queue_depth', 'Deltas waiting to be sent or retried (not in flight).', (s) => s.queued],
  ['pacspace_meter_queue_in_flight', 'Deltas in requests under way.', (s) => s.inFlight],
  ['pacspace_meter_requests_in_flight', 'Requests to PacSpace under way.', (s) => s.requestsInFlight],
  ['pacspace_meter_queue_size', 'Bytes of serialized deltas held (queued and in flight).', (s) => s.queuedBytes],
  ['pacspace_meter_queue_oldest_age', 'Age of the oldest delta held, in seconds; 0 when empty.', (s) => s.oldestQueuedAgeMs / 1000],
  ['pacspace_meter_overflow_sums', 'Overflow sums not yet queued.', (s) => s.overflow.sums],
  ['pacspace_meter_overflow_deltas', 'Deltas held in overflow sums not yet queued.', (s) => s.overflow.deltas],
  ['pacspace_meter_paused', '1 while the whole meter holds back (rate limit, outage), else 0.', (s) => (s.pausedUntil === null ? 0 : 1)],
  ['pacspace_meter_paused_customers', 'Customers paused by a cadence limit.', (s) => Object.keys(s.pausedCustomers).length],
];
const DROPPED = 'pacspace_meter_deltas_dropped_total';
const FAILED = 'pacspace_meter_deltas_failed_total';
const NAMES = [...COUNTERS.map(([n]) => n), ...GAUGES.map(([n]) => n), DROPPED, FAILED];

/** The Meters each registry reports, and its metrics (created with the first Meter, removed with the last). */
const perRegistry = new WeakMap<Registry, Set<Entry>>();

/**
 * Publishes a Meter's health as prom-client metrics (prom-client 14 or 15, an optional peer
 * dependency; entry point `@pacspace-metering/core/prometheus`): the same figures and names as
 * `observeMeter` through OpenTelemetry's Prometheus exporter, e.g.
 * `pacspace_meter_deltas_dropped_total{pacspace_meter_scope="reports-api",reason="too_large"}`.
 * Every drop reason is reported from 0; failures by `error_type` from their first occurrence, a
 * known error code or `OTHER` (never an upstream's free text).
 *
 * Nothing runs per request: the metrics' `collect` reads `meter.stats()` once per Meter per
 * scrape. Several Meters can share a registry (told apart by `pacspace_meter_scope`). After the
 * Meter is closed, the next scrape reports its final counts and then it is taken out. Bad arguments
 * throw a {@link MeteringConfigError} naming them.
 *
 * @example
 * import { collectMeterMetrics } from '@pacspace-metering/core/prometheus';
 * import { register } from 'prom-client';
 * collectMeterMetrics(meter);
 * app.get('/metrics', async (_req, res) => void res.type(register.contentType).send(await register.metrics()));
 */
export function collectMeterMetrics(meter: Meter, options: CollectMeterMetricsOptions = {}): MeterCollection {
  const m = meter as Partial<Meter> | null;
  if (m === null || typeof m !== 'object' || typeof m.stats !== 'function' || typeof m.scope !== 'string') {
    throw new MeteringConfigError('meter', 'must be a Meter (from createMeter() or createAggregatingMeter()), with stats() and scope');
  }
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object of { register }');
  const register = options.register ?? defaultRegister;
  if (typeof (register as Partial<Registry> | null)?.registerMetric !== 'function') throw new MeteringConfigError('register', 'must be a prom-client Registry');

  let entries = perRegistry.get(register);
  if (!entries) {
    entries = new Set();
    perRegistry.set(register, entries);
  }
  // First Meter of this registry, or the registry was cleared since.
  if (register.getSingleMetric(DROPPED) === undefined) {
    const taken = NAMES.filter((name) => register.getSingleMetric(name) !== undefined);
    if (taken.length > 0) throw new MeteringConfigError('register', `already has metrics named ${taken.join(', ')} that are not this package's; give collectMeterMetrics a registry of its own`);
    createMetrics(register, entries);
  }
  const stop = (): void => {
    if (entry.stopped) return;
    entry.stopped = true;
    const set = perRegistry.get(register);
    set?.delete(entry);
    if (set?.size === 0) {
      perRegistry.delete(register);
      for (const name of NAMES) register.removeSingleMetric(name);
    }
  };
  const entry: Entry = { meter, snapshot: undefined, stopped: false, stop };
  entries.add(entry);
  return {
    stop,
    get stopped() {
      return entry.stopped;
    },
  };
}

/**
 * One `stats()` per Meter per scrape: prom-client calls every metric's `collect` synchronously at
 * the start of a scrape, so a snapshot kept until the next microtask serves them all.
 */
function statsOf(entry: Entry): MeterStats {
  if (entry.snapshot === undefined) {
    const snapshot = entry.meter.stats();
    entry.snapshot = snapshot;
    queueMicrotask(() => {
      entry.snapshot = undefined;
      // Its final counts were just scraped.
      if (snapshot.closed) entry.stop();
    });
  }
  return entry.snapshot;
}

function createMetrics(register: Registry, entries: Set<Entry>): void {
  const scope = 'pacspace_meter_scope';
  for (const [name, help, read] of COUNTERS) {
    new Counter({
      name, help, labelNames: [scope], registers: [register],
      collect() {
        this.reset();
        for (const entry of entries) this.inc({ [scope]: entry.meter.scope }, read(statsOf(entry)));
      },
    });
  }
  for (const [name, help, read] of GAUGES) {
    new Gauge({
      name, help, labelNames: [scope], registers: [register],
      collect() {
        this.reset();
        for (const entry of entries) this.set({ [scope]: entry.meter.scope }, read(statsOf(entry)));
      },
    });
  }
  new Counter({
    name: DROPPED, help: 'Deltas that will never be delivered, by reason (lost revenue: alert on any).', labelNames: [scope, 'reason'], registers: [register],
    collect() {
      this.reset();
      for (const entry of entries) {
        const { dropped } = statsOf(entry);
        for (const reason of DROP_REASONS) this.inc({ [scope]: entry.meter.scope, reason }, dropped[reason] ?? 0);
      }
    },
  });
  new Counter({
    name: FAILED, help: 'Deltas PacSpace refused or that ran out of attempts, by error code; each also counted in dropped.', labelNames: [scope, 'error_type'], registers: [register],
    collect() {
      this.reset();
      for (const entry of entries) {
        // Known codes only (a Meter-shaped object may not clamp them itself): one series per code, never per upstream sentence.
        for (const [code, count] of Object.entries(clampErrorCounts(statsOf(entry).failed))) this.inc({ [scope]: entry.meter.scope, error_type: code }, count);
      }
    },
  });
}
