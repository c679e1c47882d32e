import { Inject } from '@nestjs/common';
import { METER } from './metering.constants.js';

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
