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
export { InjectMeter, getMeterToken } from './inject-meter.decorator.js';
export { METER, METERED_METADATA, SKIP_METERING_METADATA, DEFAULT_DELTA, DEFAULT_RESPONSE_HEADER, DEFAULT_SHUTDOWN_TIMEOUT_MS } from './metering.constants.js';
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
} from './metering-options.interface.js';
export type { Meter } from '@pacspace-metering/core';
