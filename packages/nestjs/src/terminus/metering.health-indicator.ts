import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { MeteringConfigError, createMeterHealth, type Meter, type MeterHealthCheck, type MeterHealthOptions, type PeriodicMeter } from '@pacspace-metering/core';
import { METER, PERIODIC_METERS } from '../module/metering.constants.js';

/**
 * A `@nestjs/terminus` health indicator for the module's Meter (`@nestjs/terminus` 11 or 12, an
 * optional peer dependency; imported from `@pacspace-metering/nestjs/terminus`, so apps without
 * Terminus never load it). It reads `meter.stats()` only: no request to PacSpace, nothing billed.
 * Its checks go to different probes:
 *
 * - {@link isReady} for **readiness**: `down` only once the Meter is closed. PacSpace's health
 *   (an outage, a refused key, drops, a stale queue) never takes it down: the queue exists to ride
 *   out an outage, and a readiness check that failed on one would take every instance out of the
 *   load balancer at once. The billing problems are still in its details.
 * - {@link isBillingHealthy} and {@link isPeriodicHealthy} for **alerts** (a route of their own that
 *   an uptime check or a status page polls): `down` while billing needs attention.
 * - Nothing of it for **liveness**: a restart fixes none of these and loses an in-memory queue.
 *
 * List it in the providers of a module that imports `TerminusModule` and sees the Meter
 * (`MeteringModule` imported there, or `isGlobal: true`).
 *
 * @example
 * @Controller('health')
 * class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly metering: MeteringHealthIndicator) {}
 *   @Get('ready') @HealthCheck()
 *   ready() { return this.health.check([() => this.metering.isReady()]); }
 *   @Get('billing') @HealthCheck()
 *   billing() { return this.health.check([() => this.metering.isBillingHealthy('metering', { maxOldestQueuedAgeSeconds: 120 })]); }
 * }
 * @publicApi
 */
@Injectable()
export class MeteringHealthIndicator {
  /** Remembers drop counts between checks, so drops are judged over a trailing window. */
  private readonly meterHealth: MeterHealthCheck;

  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(METER) meter: Meter,
    @Inject(PERIODIC_METERS) private readonly periodic: ReadonlyMap<string, PeriodicMeter>,
  ) {
    this.meterHealth = createMeterHealth(meter);
  }

  /**
   * For a readiness probe: the Meter under `key` (default `'metering'`) is `up` unless it is closed
   * (it would refuse every delta, so calls served now would go unbilled). The details carry the
   * billing state judged with the defaults of {@link isBillingHealthy} (`ready`, `healthy`,
   * `problems`, `message`, ...), for whoever reads the probe's answer; they never make it `down`.
   *
   * @example
   * this.health.check([() => this.metering.isReady()]);
   */
  isReady<const Key extends string = 'metering'>(key: Key = 'metering' as Key): HealthIndicatorResult<Key> {
    const details = this.meterHealth.check();
    const session = this.health.check(key);
    return details.ready ? session.up({ ...details }) : session.down({ ...details });
  }

  /**
   * For alerts, never readiness or liveness: the Meter under `key` (default `'metering'`) is
   * `down` once PacSpace refused the API key within the window, when more deltas were dropped within
   * the window than `maxDropped`, when the oldest queued delta has waited longer than
   * `maxOldestQueuedAgeSeconds`, or once the Meter is closed (see {@link MeterHealthOptions}:
   * `windowSeconds` 300, `maxDropped` 0, `maxOldestQueuedAgeSeconds` 300, `unauthorizedIsUnhealthy`
   * true). Drops are counted over the trailing window, so `down` clears once they stop. A bad
   * threshold throws a `MeteringConfigError` naming it.
   *
   * @example
   * this.health.check([() => this.metering.isBillingHealthy('billing', { windowSeconds: 600, maxDropped: 10 })]);
   */
  isBillingHealthy<const Key extends string = 'metering'>(key: Key = 'metering' as Key, options: MeterHealthOptions = {}): HealthIndicatorResult<Key> {
    const details = this.meterHealth.check(options);
    const session = this.health.check(key);
    return details.healthy ? session.up({ ...details }) : session.down({ ...details });
  }

  /**
   * For alerts, never readiness or liveness: the health of the module's periodic jobs (`periodic`
   * in `forRoot`) under `key` (default `'metering_periodic'`): `down` while a job has a window
   * that failed for good (it sends nothing more until `retryFailed()` or `skipFailed()`), or when
   * its state cannot be read; with
   * `maxLagSeconds`, also when a job's last delivered window ended longer ago than that (default:
   * no lag check, since `delayMs` and retries legitimately delay windows). `up` with no jobs. The
   * result lists each job by name: `{ nextStart, failed: { key, code } | null, pending }`.
   *
   * @example
   * this.health.check([() => this.metering.isBillingHealthy(), () => this.metering.isPeriodicHealthy('billing_jobs', { maxLagSeconds: 3 * 3600 })]);
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
