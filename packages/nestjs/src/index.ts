/**
 * @pacspace-metering/nestjs: bill every successful NestJS call into PacSpace's Balance API.
 *
 * @example
 * import { MeteringModule, Metered, SkipMetering, InjectMeter } from '@pacspace-metering/nestjs';
 */
export { MeteringModule } from './module/metering.module.js';
export { METERING_MODULE_OPTIONS } from './module/metering.module-definition.js';
export { MeteringGuard } from './enhancer/metering.guard.js';
export { MeteringInterceptor } from './enhancer/metering.interceptor.js';
export { MeteringEnhancer } from './enhancer/metering.enhancer.js';
export type { CallAdapter } from './enhancer/call-adapter.js';
export type { HttpObject } from './enhancer/http-object.js';
export { Metered } from './metering/metered.decorator.js';
export { SkipMetering } from './metering/skip-metering.decorator.js';
export { BillingRequestId } from './metering/billing-request-id.decorator.js';
export { InjectMeter, InjectPeriodicMeter, InjectPeriodicMeters, getMeterToken } from './module/inject-meter.decorator.js';
export { METER, PERIODIC_METER, PERIODIC_METERS, METERED_METADATA, SKIP_METERING_METADATA, DEFAULT_DELTA, DEFAULT_RESPONSE_HEADER, DEFAULT_SHUTDOWN_TIMEOUT_MS } from './module/metering.constants.js';
export type {
  CustomerIdResolver,
  DeltaResolver,
  MetadataResolver,
  RequestDeltaResolver,
  RequestMetadataResolver,
  MeteredOptions,
  MeteredDelta,
  UnitsResolver,
  MeteringForRootOptions,
  MeteringModuleAsyncOptions,
  MeteringModuleOptions,
  MeteringOptionsFactory,
  MeteringPeriodicOptions,
} from './module/metering-options.interface.js';
export type { AggregatingMeter, Meter, PeriodicMeter } from '@pacspace-metering/core';
export { RequireBalance, SkipBalanceCheck, InjectBalanceGate } from './balance/require-balance.decorator.js';
export { BalanceGuard } from './balance/balance.guard.js';
export { MeteringCorrections } from './module/metering.corrections.js';
export type { BilledDelta } from './module/metering.corrections.js';
export { MeteringOperations } from './operations/metering-operations.js';
export type { OperationOptions, OperationOutcome, UsageDelta } from '@pacspace-metering/core';
export { NOTHING_TO_BILL } from '@pacspace-metering/core';
export type { NothingToBill } from '@pacspace-metering/core';
export { BALANCE_GATE, REQUIRE_BALANCE_METADATA, SKIP_BALANCE_METADATA, DEFAULT_PRICE } from './balance/balance.constants.js';
export type { MeteringBalanceOptions, PriceResolver, ProblemShaper, RequireBalanceOptions } from './balance/balance-options.interface.js';
export type { BalanceCheck, BalanceGate, BalanceGateStats, BalanceProblem } from '@pacspace-metering/core';
