import { MeteringConfigError, createPeriodicMeter, dryRunClient, type Meter, type PeriodicMeter, type PeriodicMeterOptions } from '@pacspace-metering/core';
import type { ResolvedMeteringOptions } from '../module/metering.options.js';
import type { MeteringPeriodicOptions } from '../module/metering-options.interface.js';

/** @internal A periodic job the module runs: its meter, and whether the module starts it. */
export interface ModulePeriodicJob {
  meter: PeriodicMeter;
  start: boolean;
}

/** Options a periodic job takes from the module's Meter options when it does not give its own. */
const INHERITED = ['client', 'apiKey', 'baseUrl', 'scope', 'attemptTimeoutMs', 'logger'] as const;

/**
 * @internal Creates the module's periodic meters: each job's options over what it inherits from
 * the module (see {@link INHERITED}), `closePeriods` draining the module's Meter unless it names
 * its own meters. A bad option throws a `MeteringConfigError` naming it under `periodic`.
 */
export function createPeriodicJobs(resolved: ResolvedMeteringOptions, meter: Meter): ModulePeriodicJob[] {
  const several = resolved.periodic.length > 1;
  const jobs: ModulePeriodicJob[] = [];
  resolved.periodic.forEach((job, i) => {
    const field = several ? `periodic[${i}]` : 'periodic';
    const { start, ...given } = job;
    try {
      jobs.push({ meter: createPeriodicMeter(inherit(given, resolved, meter)), start: start !== false });
    } catch (err) {
      // The start is aborted: release the clients of the jobs already created.
      for (const created of jobs) void created.meter.stop();
      if (err instanceof MeteringConfigError) throw new MeteringConfigError(`${field}.${err.option}`, err.message.slice(err.option.length + 2));
      throw err;
    }
  });
  return jobs;
}

function inherit(job: Omit<MeteringPeriodicOptions, 'start'>, resolved: ResolvedMeteringOptions, meter: Meter): PeriodicMeterOptions {
  const options: Record<string, unknown> = {};
  const module = resolved.meterOptions as Record<string, unknown> | undefined;
  for (const name of INHERITED) if (module?.[name] !== undefined) options[name] = module[name];
  if (options.scope === undefined) options.scope = meter.scope;
  // A disabled module sends nothing: its periodic jobs neither (unless given a client of their own).
  if (resolved.meterOptions?.enabled === false && job.client === undefined) options.client = dryRunClient();
  for (const [name, value] of Object.entries(job)) if (value !== undefined) options[name] = value;
  const close = job.closePeriods;
  if (close === true) options.closePeriods = { drain: [meter] };
  else if (close !== null && typeof close === 'object' && close.drain === undefined) options.closePeriods = { ...close, drain: [meter] };
  return options as unknown as PeriodicMeterOptions;
}
