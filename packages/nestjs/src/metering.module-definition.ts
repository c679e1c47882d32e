import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MeteringModuleOptions } from './metering-options.interface.js';

/**
 * The generated base of {@link MeteringModule}: `forRoot(options)` and `forRootAsync({ imports,
 * inject, useFactory | useClass | useExisting })`, with `createMeteringOptions()` as the method an
 * options class implements. `isGlobal` is handled by `MeteringModule` itself (not with
 * `setExtras`, which loses extras under `forRootAsync` in some Nest versions).
 *
 * @example
 * @Inject(METERING_MODULE_OPTIONS) options: MeteringModuleOptions
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
