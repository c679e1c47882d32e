import { randomBytes } from 'node:crypto';
import type { FactoryProvider } from '@nestjs/common';
import { createAggregatingMeter, createMeter, MeteringConfigError, type AggregatingMeter, type BalanceGate, type Meter, type PeriodicMeter } from '@pacspace-metering/core';
import { METER, METERING_RUNTIME, PERIODIC_METER, PERIODIC_METERS } from './metering.constants.js';
import { messages } from './metering.messages.js';
import { createPeriodicJobs, type ModulePeriodicJob } from '../periodic/metering.periodic.js';
import { METERING_MODULE_OPTIONS } from './metering.module-definition.js';
import { resolveMeteringOptions, type ResolvedMeteringOptions } from './metering.options.js';
import type { MeteringModuleOptions } from './metering-options.interface.js';

/** @internal What the module shares between its providers: the Meter, who owns it, and the Nest defaults. */
export interface MeteringRuntime {
  /** The Meter routes bill through: the aggregating meter with `aggregate`, else the created or given Meter. */
  meter: Meter;
  /** True when the module created the Meter, so it closes it on shutdown (a given Meter is only flushed). */
  ownsMeter: boolean;
  /** With `aggregate`: the Meter under the aggregation (the created or the given one). */
  aggregated?: { aggregator: AggregatingMeter; base: Meter };
  /** The periodic jobs the module runs. */
  periodic: ModulePeriodicJob[];
  options: ResolvedMeteringOptions;
  /**
   * Random per module instance (so per application). Qualifies counter request ids (Fastify's
   * `req-1`, pino-http's `1`) instead of core's per-process qualifier, which two applications in one
   * process (tests, an app re-created after an error) would share, making their calls collide.
   */
  instanceId: string;
  /**
   * Set at start-up when `MeteringGuard` is bound with `APP_GUARD`: a global `MeteringInterceptor`
   * then leaves HTTP routes to it (it runs first) and only meters the other contexts.
   */
  globalGuard: boolean;
  /** The balance gate, once created (see `balanceGateOf`). */
  balanceGate?: BalanceGate;
}

/**
 * @internal Validates the options and builds the Meter. Runs while the application bootstraps, so
 * a bad option aborts it with a `MeteringConfigError` naming the field.
 */
export function createMeteringRuntime(options: MeteringModuleOptions | undefined): MeteringRuntime {
  const resolved = resolveMeteringOptions(options);
  const instanceId = randomBytes(6).toString('hex');
  const ownsMeter = resolved.meter === undefined;
  const base = resolved.meter ?? createMeter(resolved.meterOptions);
  let aggregated: MeteringRuntime['aggregated'];
  let periodic: ModulePeriodicJob[];
  try {
    if (resolved.aggregate) aggregated = { aggregator: createAggregating(base, resolved.aggregate, ownsMeter), base };
    periodic = createPeriodicJobs(resolved, aggregated?.aggregator ?? base);
  } catch (err) {
    // The start is aborted: release what was already created.
    if (ownsMeter) void base.close({ timeoutMs: 0 });
    throw err;
  }
  const meter = aggregated?.aggregator ?? base;
  return { meter, ownsMeter, ...(aggregated ? { aggregated } : {}), periodic, options: resolved, instanceId, globalGuard: false };
}

function createAggregating(base: Meter, options: NonNullable<ResolvedMeteringOptions['aggregate']>, ownsMeter: boolean): AggregatingMeter {
  try {
    // Closing the aggregation closes the Meter under it only when the module created that Meter.
    return createAggregatingMeter(base, { ...options, closeMeter: ownsMeter });
  } catch (err) {
    if (err instanceof MeteringConfigError) throw new MeteringConfigError(`aggregate.${err.option}`, err.message.slice(err.option.length + 2));
    throw err;
  }
}

/** @internal What `@InjectPeriodicMeter()` gets when no periodic job is configured: every use says so. */
function missingPeriodicMeter(): PeriodicMeter {
  const fail = (): never => {
    throw new MeteringConfigError('periodic', messages.periodicMissing('periodic'));
  };
  return {
    get scope(): string {
      return fail();
    },
    get name(): string {
      return fail();
    },
    get intervalMs(): number {
      return fail();
    },
    start: fail,
    stop: fail,
    runDue: fail,
    retryFailed: fail,
    skipFailed: fail,
    closePeriod: fail,
    status: fail,
  };
}

/** @internal */
export const meteringRuntimeProvider: FactoryProvider<MeteringRuntime> = {
  provide: METERING_RUNTIME,
  useFactory: createMeteringRuntime,
  inject: [METERING_MODULE_OPTIONS],
};

/** @internal */
export const meterProvider: FactoryProvider<Meter> = {
  provide: METER,
  useFactory: (runtime: MeteringRuntime) => runtime.meter,
  inject: [METERING_RUNTIME],
};

/** @internal The first (usually only) periodic job's meter. */
export const periodicMeterProvider: FactoryProvider<PeriodicMeter> = {
  provide: PERIODIC_METER,
  useFactory: (runtime: MeteringRuntime) => runtime.periodic[0]?.meter ?? missingPeriodicMeter(),
  inject: [METERING_RUNTIME],
};

/** @internal Every periodic job's meter, by `name`. */
export const periodicMetersProvider: FactoryProvider<ReadonlyMap<string, PeriodicMeter>> = {
  provide: PERIODIC_METERS,
  useFactory: (runtime: MeteringRuntime) => new Map(runtime.periodic.map((job) => [job.meter.name, job.meter])),
  inject: [METERING_RUNTIME],
};
