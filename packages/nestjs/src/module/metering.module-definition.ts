import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MeteringModuleOptions } from './metering-options.interface.js';

/**
 * Built once with Nest's `ConfigurableModuleBuilder`: the base class of {@link MeteringModule}
 * (`forRoot(options)` and `forRootAsync({ imports, inject, useFactory | useClass | useExisting })`,
 * with `createMeteringOptions()` as the method an options class implements) and
 * `METERING_MODULE_OPTIONS`, the token of the options exactly as given (`'METERING_MODULE_OPTIONS'`;
 * validated and defaulted only when the Meter is built). `isGlobal` is handled by `MeteringModule`
 * itself, not with `setExtras` (which loses extras under `forRootAsync` in some Nest versions).
 *
 * @example
 * constructor(@Inject(METERING_MODULE_OPTIONS) private readonly options: MeteringModuleOptions) {}
 * @publicApi
 */
export const {
  ConfigurableModuleClass: ConfigurableMeteringModule,
  MODULE_OPTIONS_TOKEN: METERING_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MeteringModuleOptions>({ moduleName: 'Metering' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createMeteringOptions')
  .build();
