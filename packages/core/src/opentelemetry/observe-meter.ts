import { metrics, type Attributes, type BatchObservableCallback, type MeterProvider } from '@opentelemetry/api';
import { MeteringConfigError } from '../errors.js';
import type { Meter } from '../meter-api.js';
import { DROP_REASONS } from '../reporting/drop-reasons.js';
import { clampErrorCounts } from '../client/error-codes.js';
import { createInstruments } from './instruments.js';

/**
 * Options of {@link observeMeter}.
 *
 * @example
 * observeMeter(meter, { meterProvider, attributes: { 'service.instance.id': process.env.HOSTNAME } });
 */
export interface ObserveMeterOptions {
  /** Where the instruments are created. Default: the global provider (`metrics.getMeterProvider()`), a no-op until an SDK is registered. */
  meterProvider?: MeterProvider | undefined;
  /** The instrumentation scope name. Default: `'@pacspace-metering/core'`. */
  name?: string | undefined;
  /** Attributes added to every observation, after `pacspace.meter.scope` (the Meter's `scope`). Default: none. */
  attributes?: Attributes | undefined;
}

/**
 * What {@link observeMeter} returns: `stop()` unregisters the instruments' callback (idempotent).
 *
 * @example
 * const observation = observeMeter(meter);
 * observation.stop();
 */
export interface MeterObservation {
  /** Stops observing; the next collection reports nothing for this Meter. */
  stop(): void;
  /** True once stopped, by `stop()` or after the first collection that saw the Meter closed. */
  readonly stopped: boolean;
}

/**
 * Publishes a Meter's health through the OpenTelemetry metrics API: accepted, delivered,
 * deduplicated, retried, folded, dropped (by `reason`, every reason reported from 0) and failed
 * (by `error.type`, a known error code or `OTHER`, from its first failure) deltas, requests,
 * queue depth, bytes and oldest age, overflow sums, and whether the meter or some customers are
 * paused. Each observation carries `pacspace.meter.scope`.
 *
 * One batch callback reads `meter.stats()` when the SDK collects (e.g. every 60 s): nothing runs
 * per request, and without an installed SDK nothing runs at all. After the Meter is closed, the
 * next collection reports its final counts and then the callback unregisters itself.
 * Works with any object of the Meter's shape (an aggregating meter too). A bad argument throws a
 * {@link MeteringConfigError} naming it.
 *
 * @example
 * import { observeMeter } from '@pacspace-metering/core/opentelemetry';
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
 * observeMeter(meter); // the app's OpenTelemetry SDK exports pacspace.meter.* from now on
 */
export function observeMeter(meter: Meter, options: ObserveMeterOptions = {}): MeterObservation {
  checkArguments(meter, options);
  const provider = options.meterProvider ?? metrics.getMeterProvider();
  const otel = provider.getMeter(options.name ?? '@pacspace-metering/core');
  const i = createInstruments(otel);
  const observables = Object.values(i);
  const base: Attributes = { 'pacspace.meter.scope': meter.scope, ...options.attributes };
  const dropAttributes = DROP_REASONS.map((reason): Attributes => ({ ...base, reason }));
  let stopped = false;

  const callback: BatchObservableCallback = (result) => {
    if (stopped) return;
    const s = meter.stats();
    result.observe(i.accepted, s.accepted, base);
    result.observe(i.delivered, s.delivered, base);
    result.observe(i.deduplicated, s.deduplicated, base);
    result.observe(i.retried, s.retried, base);
    result.observe(i.folded, s.folded, base);
    result.observe(i.requests, s.requests, base);
    for (let r = 0; r < DROP_REASONS.length; r++) result.observe(i.dropped, s.dropped[DROP_REASONS[r]!] ?? 0, dropAttributes[r]!);
    // Known codes only (a Meter-shaped object may not clamp them itself): one series per code, never per upstream sentence.
    for (const [code, count] of Object.entries(clampErrorCounts(s.failed))) result.observe(i.failed, count, { ...base, 'error.type': code });
    result.observe(i.queued, s.queued, base);
    result.observe(i.inFlight, s.inFlight, base);
    result.observe(i.requestsInFlight, s.requestsInFlight, base);
    result.observe(i.queuedBytes, s.queuedBytes, base);
    result.observe(i.oldestQueuedAge, s.oldestQueuedAgeMs / 1000, base);
    result.observe(i.overflowSums, s.overflow.sums, base);
    result.observe(i.overflowDeltas, s.overflow.deltas, base);
    result.observe(i.paused, s.pausedUntil === null ? 0 : 1, base);
    result.observe(i.pausedCustomers, Object.keys(s.pausedCustomers).length, base);
    // Final counts were just reported; unregister after this collection (not while the SDK iterates its callbacks).
    if (s.closed) queueMicrotask(stop);
  };

  function stop(): void {
    if (stopped) return;
    stopped = true;
    otel.removeBatchObservableCallback(callback, observables);
  }

  otel.addBatchObservableCallback(callback, observables);
  return {
    stop,
    get stopped() {
      return stopped;
    },
  };
}

/** Bad arguments fail here, naming the field, rather than later inside the SDK's collection. */
function checkArguments(meter: unknown, options: unknown): void {
  const m = meter as Partial<Meter> | null;
  if (m === null || typeof m !== 'object' || typeof m.stats !== 'function' || typeof m.scope !== 'string') {
    throw new MeteringConfigError('meter', 'must be a Meter (from createMeter() or createAggregatingMeter()), with stats() and scope');
  }
  if (options === null || typeof options !== 'object') throw new MeteringConfigError('options', 'must be an object of { meterProvider, name, attributes }');
  const { meterProvider, name, attributes } = options as ObserveMeterOptions;
  if (meterProvider !== undefined && typeof (meterProvider as Partial<MeterProvider> | null)?.getMeter !== 'function') {
    throw new MeteringConfigError('meterProvider', 'must be an OpenTelemetry MeterProvider (with getMeter())');
  }
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) throw new MeteringConfigError('name', 'must be a non-empty string');
  if (attributes !== undefined && (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes))) {
    throw new MeteringConfigError('attributes', 'must be an object of OpenTelemetry attributes, e.g. { "service.instance.id": "web-1" }');
  }
}
