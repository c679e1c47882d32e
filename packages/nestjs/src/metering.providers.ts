import { randomBytes } from 'node:crypto';
import type { FactoryProvider } from '@nestjs/common';
import { createMeter, type Meter } from '@pacspace-metering/core';
import { METER, METERING_RUNTIME } from './metering.constants.js';
import { METERING_MODULE_OPTIONS } from './metering.module-definition.js';
import { resolveMeteringOptions, type ResolvedMeteringOptions } from './metering.options.js';
import type { MeteringModuleOptions } from './metering-options.interface.js';

/** @internal What the module shares between its providers: the Meter, who owns it, and the Nest defaults. */
export interface MeteringRuntime {
  meter: Meter;
  /** True when the module created the Meter, so it closes it on shutdown (a given Meter is only flushed). */
  ownsMeter: boolean;
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
}

/**
 * @internal Validates the options and builds the Meter. Runs while the application bootstraps, so
 * a bad option aborts it with a `MeteringConfigError` naming the field.
 */
export function createMeteringRuntime(options: MeteringModuleOptions | undefined): MeteringRuntime {
  const resolved = resolveMeteringOptions(options);
  const instanceId = randomBytes(6).toString('hex');
  if (resolved.meter) return { meter: resolved.meter, ownsMeter: false, options: resolved, instanceId, globalGuard: false };
  return { meter: createMeter(resolved.meterOptions), ownsMeter: true, options: resolved, instanceId, globalGuard: false };
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
