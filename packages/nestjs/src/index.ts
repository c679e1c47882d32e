/**
 * @pacspace-metering/nestjs: bill every successful NestJS call into PacSpace's Balance API.
 *
 * @example
 * import { MeteringModule, Metered, SkipMetering, InjectMeter } from '@pacspace-metering/nestjs';
 */
export { MeteringModule } from './metering.module.js';
export { METERING_MODULE_OPTIONS } from './metering.module-definition.js';
export { MeteringGuard } from './metering.guard.js';
export { MeteringInterceptor } from './metering.interceptor.js';
export { MeteringEnhancer } from './metering.enhancer.js';
export { Metered } from './metered.decorator.js';
export { SkipMetering } from './skip-metering.decorator.js';
export { InjectMeter, InjectPeriodicMeter, InjectPeriodicMeters, getMeterToken } from './inject-meter.decorator.js';
export { METER, PERIODIC_METER, PERIODIC_METERS, METERED_METADATA, SKIP_METERING_METADATA, DEFAULT_DELTA, DEFAULT_RESPONSE_HEADER, DEFAULT_SHUTDOWN_TIMEOUT_MS } from './metering.constants.js';
export type {
  CustomerIdResolver,
  DeltaResolver,
  MetadataResolver,
  RequestDeltaResolver,
  RequestMetadataResolver,
  MeteredOptions,
  MeteringForRootOptions,
  MeteringModuleAsyncOptions,
  MeteringModuleOptions,
  MeteringOptionsFactory,
  MeteringPeriodicOptions,
} from './metering-options.interface.js';
export type { AggregatingMeter, Meter, PeriodicMeter } from '@pacspace-metering/core';
export { RequireBalance, SkipBalanceCheck, InjectBalanceGate } from './require-balance.decorator.js';
export { BalanceGuard } from './balance.guard.js';
export { MeteringCorrections } from './metering.corrections.js';
export type { BilledDelta } from './metering.corrections.js';
export { BALANCE_GATE, REQUIRE_BALANCE_METADATA, SKIP_BALANCE_METADATA, DEFAULT_PRICE } from './balance.constants.js';
export type { MeteringBalanceOptions, PriceResolver, ProblemShaper, RequireBalanceOptions } from './balance-options.interface.js';
export type { BalanceCheck, BalanceGate, BalanceGateStats, BalanceProblem } from '@pacspace-metering/core';
