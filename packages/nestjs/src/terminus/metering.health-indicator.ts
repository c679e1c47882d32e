import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { assessMeterHealth, type Meter, type MeterHealthOptions } from '@pacspace-metering/core';
import { METER } from '../metering.constants.js';

/**
 * A `@nestjs/terminus` health indicator for the module's Meter (`@nestjs/terminus` 11 or 12, an
 * optional peer dependency; imported from `@pacspace-metering/nestjs/terminus`, so apps without
 * Terminus never load it). `isHealthy()` is `down` once PacSpace refused the API key, when more
 * deltas were dropped since start than `maxDropped` (default `0`), when the oldest queued delta
 * has waited longer than `maxOldestQueuedAgeSeconds` (default `300`), or once the Meter is closed;
 * the result carries `message`, `problems`, `dropped`, `droppedByReason`, `oldestQueuedAgeSeconds`,
 * `queued` and `pausedUntil`. It reads `meter.stats()` only: no request to PacSpace, nothing billed.
 *
 * Drops are counted since start, so a `down` stays until the process restarts: wire it into a
 * readiness check or a status page, not a liveness probe (a restart loses an in-memory queue).
 * List it in the providers of a module that imports `TerminusModule` and sees the Meter
 * (`MeteringModule` imported there, or `isGlobal: true`).
 *
 * @example
 * @Controller('health')
 * class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly metering: MeteringHealthIndicator) {}
 *   @Get()
 *   @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.metering.isHealthy('metering', { maxOldestQueuedAgeSeconds: 120 })]);
 *   }
 * }
 * @publicApi
 */
@Injectable()
export class MeteringHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(METER) private readonly meter: Meter,
  ) {}

  /**
   * The Meter's health under `key` (default `'metering'`), judged with `options` (see
   * {@link MeterHealthOptions}: `maxDropped` 0, `maxOldestQueuedAgeSeconds` 300,
   * `unauthorizedIsUnhealthy` true). A bad threshold throws a `MeteringConfigError` naming it.
   *
   * @example
   * this.health.check([() => this.metering.isHealthy('billing', { maxDropped: 10 })]);
   */
  isHealthy<const Key extends string = 'metering'>(key: Key = 'metering' as Key, options: MeterHealthOptions = {}): HealthIndicatorResult<Key> {
    const { healthy, ...details } = assessMeterHealth(this.meter.stats(), options);
    const session = this.health.check(key);
    return healthy ? session.up(details) : session.down(details);
  }
}
