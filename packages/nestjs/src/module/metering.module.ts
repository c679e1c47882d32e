import { Inject, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { METER, METERING_RUNTIME, PERIODIC_METER, PERIODIC_METERS } from './metering.constants.js';
import { MeteringExplorer } from './metering.explorer.js';
import { BALANCE_GATE } from '../balance/balance.constants.js';
import { BalanceGuard } from '../balance/balance.guard.js';
import { balanceGateProvider } from '../balance/balance.providers.js';
import { MeteringCorrections } from './metering.corrections.js';
import { MeteringOperations } from '../operations/metering-operations.js';
import { MeteringGuard } from '../enhancer/metering.guard.js';
import { MeteringInterceptor } from '../enhancer/metering.interceptor.js';
import { ConfigurableMeteringModule } from './metering.module-definition.js';
import { meterProvider, meteringRuntimeProvider, periodicMeterProvider, periodicMetersProvider, type MeteringRuntime } from './metering.providers.js';
import type { MeteringForRootOptions, MeteringModuleAsyncOptions } from './metering-options.interface.js';

/**
 * Provides the Meter (`@InjectMeter()`), `MeteringInterceptor` and the start-up checks behind
 * `@Metered()`. Options are validated while the application bootstraps: a bad one aborts it with a
 * `MeteringConfigError` naming the field. On application shutdown (`app.close()`, or a signal with
 * `enableShutdownHooks()`) the module closes the Meter it created, or flushes the one it was given,
 * so everything still queued is delivered (within `shutdownTimeoutMs`) before `app.close()` resolves.
 * With `verifyCredentials: true` the start itself fails when PacSpace refuses the API key.
 *
 * The module never binds anything globally itself: bind `MeteringGuard` with `APP_GUARD` (HTTP) or
 * `MeteringInterceptor` with `APP_INTERCEPTOR` (HTTP and microservices) to meter every route with
 * the module's default `reason`.
 *
 * @example
 * @Module({
 *   imports: [
 *     MeteringModule.forRoot({
 *       apiKey: process.env.PACSPACE_API_KEY,
 *       scope: 'reports-api',
 *       customerId: (req) => req.user?.accountId,
 *       isGlobal: true,
 *     }),
 *   ],
 * })
 * export class AppModule {}
 * @publicApi
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    meteringRuntimeProvider, meterProvider, periodicMeterProvider, periodicMetersProvider, MeteringGuard, MeteringInterceptor, MeteringExplorer,
    balanceGateProvider, BalanceGuard, MeteringCorrections, MeteringOperations,
  ],
  exports: [METER, PERIODIC_METER, PERIODIC_METERS, METERING_RUNTIME, MeteringGuard, MeteringInterceptor, BALANCE_GATE, BalanceGuard, MeteringCorrections, MeteringOperations],
})
export class MeteringModule extends ConfigurableMeteringModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(METERING_RUNTIME) private readonly runtime: MeteringRuntime) {
    super();
  }

  /**
   * Configures the module with static options: every `createMeter` option (or `meter`), the Nest
   * options of {@link MeteringModuleOptions} (periodic jobs with `periodic`, aggregation with
   * `aggregate`), and `isGlobal` (default `false`).
   *
   * @example
   * MeteringModule.forRoot({ apiKey: process.env.PACSPACE_API_KEY, customerId: (req) => req.user.id, isGlobal: true })
   */
  static override forRoot(options: MeteringForRootOptions = {}): DynamicModule {
    const { isGlobal, ...moduleOptions } = options ?? {};
    return { ...super.forRoot(moduleOptions), global: isGlobal === true };
  }

  /**
   * Configures the module from other providers (`ConfigService`, secrets): `imports`, `inject` and
   * one of `useFactory`, `useClass` or `useExisting` (a class with `createMeteringOptions()`), plus
   * `isGlobal` (default `false`).
   *
   * @example
   * MeteringModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ apiKey: config.getOrThrow('PACSPACE_API_KEY'), customerId: (req) => req.user.id }),
   *   isGlobal: true,
   * })
   */
  static override forRootAsync(options: MeteringModuleAsyncOptions): DynamicModule {
    const { isGlobal, ...asyncOptions } = options;
    return { ...super.forRootAsync(asyncOptions), global: isGlobal === true };
  }

  /**
   * With `verifyCredentials: true`, a key PacSpace refuses (or PacSpace out of reach) aborts the
   * start. Then the periodic jobs start (those without `start: false`).
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.runtime.options.verifyCredentials) await this.runtime.meter.verifyCredentials();
    for (const job of this.runtime.periodic) if (job.start) job.meter.start();
  }

  /**
   * Stops the periodic jobs (a window being sent is finished first), then delivers what is still
   * queued, open aggregation sums included, before the application finishes shutting down.
   */
  async onApplicationShutdown(): Promise<void> {
    const { meter, ownsMeter, aggregated, periodic, options } = this.runtime;
    const timeoutMs = options.shutdownTimeoutMs;
    this.runtime.balanceGate?.close();
    await Promise.all(periodic.map((job) => job.meter.stop()));
    if (ownsMeter) {
      // The aggregating meter (when there is one) closes the Meter under it.
      await meter.close({ timeoutMs });
      return;
    }
    if (aggregated) await aggregated.aggregator.close({ timeoutMs });
    await (aggregated?.base ?? meter).flush({ timeoutMs });
  }
}
