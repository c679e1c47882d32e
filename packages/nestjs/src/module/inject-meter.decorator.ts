import { Inject } from '@nestjs/common';
import { METER, PERIODIC_METER, PERIODIC_METERS } from './metering.constants.js';

/**
 * The injection token of the Meter the module created (or was given), for `moduleRef.get()`,
 * `app.get()` or custom providers.
 *
 * @example
 * const meter = app.get<Meter>(getMeterToken());
 * await meter.flush({ timeoutMs: 5_000 });
 * @publicApi
 */
export function getMeterToken(): string {
  return METER;
}

/**
 * Injects the Meter, for awaited deliveries on critical paths (`meter.emit`), periodic work, or
 * billing what a decorator cannot see (such as streams).
 *
 * @example
 * @Injectable()
 * export class ExportService {
 *   constructor(@InjectMeter() private readonly meter: Meter) {}
 *   async finish(customerId: string, jobId: string) {
 *     await this.meter.emit({ customerId, delta: -10, reason: 'export_completed', requestId: jobId });
 *   }
 * }
 * @publicApi
 */
export function InjectMeter(): PropertyDecorator & ParameterDecorator {
  return Inject(METER);
}

/**
 * Injects the periodic meter the module runs (`periodic` in `forRoot`/`forRootAsync`; with several
 * jobs, the first): for `status()`, `closePeriod()`, `retryFailed()` or `runDue()` from your own
 * scheduler. Without a periodic job, every use of it throws a `MeteringConfigError` saying so.
 *
 * @example
 * @Injectable()
 * export class BillingAdmin {
 *   constructor(@InjectPeriodicMeter() private readonly periodic: PeriodicMeter) {}
 *   status() { return this.periodic.status(); }
 * }
 * @publicApi
 */
export function InjectPeriodicMeter(): PropertyDecorator & ParameterDecorator {
  return Inject(PERIODIC_METER);
}

/**
 * Injects every periodic meter the module runs, as a `ReadonlyMap` by job `name`.
 *
 * @example
 * constructor(@InjectPeriodicMeters() private readonly jobs: ReadonlyMap<string, PeriodicMeter>) {}
 * // this.jobs.get('storage')?.status()
 * @publicApi
 */
export function InjectPeriodicMeters(): PropertyDecorator & ParameterDecorator {
  return Inject(PERIODIC_METERS);
}
