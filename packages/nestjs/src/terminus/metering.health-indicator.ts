import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { MeteringConfigError, assessMeterHealth, type Meter, type MeterHealthOptions, type PeriodicMeter } from '@pacspace-metering/core';
import { METER, PERIODIC_METERS } from '../metering.constants.js';

/**
 * A `@nestjs/terminus` health indicator for the module's Meter (`@nestjs/terminus` 11 or 12, an
 * optional peer dependency; imported from `@pacspace-metering/nestjs/terminus`, so apps without
 * Terminus never load it). `isHealthy()` is `down` once PacSpace refused the API key, when more
 * deltas were dropped since start than `maxDropped` (default `0`), when the oldest queued delta
 * has waited longer than `maxOldestQueuedAgeSeconds` (default `300`), or once the Meter is closed;
 * the result carries `message`, `problems`, `dropped`, `droppedByReason`, `oldestQueuedAgeSeconds`,
 * `queued` and `pausedUntil`. It reads `meter.stats()` only: no request to PacSpace, nothing billed.
 * `isPeriodicHealthy()` does the same for the module's periodic jobs (a window failed for good).
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
    @Inject(PERIODIC_METERS) private readonly periodic: ReadonlyMap<string, PeriodicMeter>,
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

  /**
   * The health of the module's periodic jobs (`periodic` in `forRoot`) under `key` (default
   * `'metering_periodic'`): `down` while a job has a window that failed for good (it sends nothing
   * more until `retryFailed()` or `skipFailed()`), or when its state cannot be read; with
   * `maxLagSeconds`, also when a job's last delivered window ended longer ago than that (default:
   * no lag check, since `delayMs` and retries legitimately delay windows). `up` with no jobs. The
   * result lists each job by name: `{ nextStart, failed: { key, code } | null, pending }`.
   *
   * @example
   * this.health.check([() => this.metering.isHealthy(), () => this.metering.isPeriodicHealthy('billing_jobs', { maxLagSeconds: 3 * 3600 })]);
   */
  async isPeriodicHealthy<const Key extends string = 'metering_periodic'>(key: Key = 'metering_periodic' as Key, options: { maxLagSeconds?: number } = {}): Promise<HealthIndicatorResult<Key>> {
    const maxLag = options.maxLagSeconds;
    if (maxLag !== undefined && (typeof maxLag !== 'number' || Number.isNaN(maxLag) || maxLag < 0)) {
      throw new MeteringConfigError('maxLagSeconds', `must be a non-negative number of seconds (got ${String(maxLag)})`);
    }
    const jobs: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const [name, job] of this.periodic) {
      try {
        const status = await job.status();
        const lagSeconds = (Date.now() - status.nextStart.getTime()) / 1000;
        jobs[name] = { nextStart: status.nextStart.toISOString(), failed: status.failed && { key: status.failed.key, code: status.failed.code }, pending: status.pending?.key ?? null };
        if (status.failed) problems.push(`${name}: window ${status.failed.key} failed for good (${status.failed.code})`);
        else if (maxLag !== undefined && lagSeconds > maxLag) problems.push(`${name}: last delivered window ended ${Math.round(lagSeconds)} s ago (allowed: ${maxLag} s)`);
      } catch (err) {
        jobs[name] = { error: (err as Error).message };
        problems.push(`${name}: status unavailable (${(err as Error).message})`);
      }
    }
    const session = this.health.check(key);
    const details = { message: problems.length === 0 ? 'ok' : problems.join('; '), jobs };
    return problems.length === 0 ? session.up(details) : session.down(details);
  }
}
