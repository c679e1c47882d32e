import { SetMetadata } from '@nestjs/common';
import { SKIP_METERING_METADATA } from '../module/metering.constants.js';

/**
 * Excludes a route (on a method) or every route of a controller (on a class) from metering, both
 * from a class-level `@Metered` and from a global `MeteringInterceptor` with a default reason. On a
 * method it wins over any `@Metered`; on a class, a method's own `@Metered` still applies.
 *
 * @example
 * @Get('health') @SkipMetering() health() { return 'ok'; }
 * @publicApi
 */
export function SkipMetering(): ClassDecorator & MethodDecorator {
  return SetMetadata(SKIP_METERING_METADATA, true);
}
