import { SetMetadata, UseGuards } from '@nestjs/common';
import { METERED_METADATA, NEST_INTERCEPTORS_METADATA } from '../module/metering.constants.js';
import { MeteredResultObserver } from './metered-result.observer.js';
import { MeteringGuard } from '../enhancer/metering.guard.js';
import { routeNeedsResult } from './metering.route.js';
import type { MeteredOptions } from '../module/metering-options.interface.js';

const reflect = Reflect as unknown as { getMetadata(key: string, target: object): unknown; defineMetadata(key: string, value: unknown, target: object): void };

/**
 * Bills every successful call of a route (on a method) or of every route of a controller (on a
 * class): one delta when the response finishes with a success status, none for guard rejections,
 * pipe failures, errors, exception filters answering 4xx/5xx, or aborted clients. On microservice
 * handlers, one delta when the handler's observable completes without error.
 *
 * Takes a reason, or `{ reason, delta, customerId, metadata }`; a missing field falls back to the
 * module option of the same name (`delta` defaults to `-1`). A method's `@Metered` replaces its
 * class's entirely (no field merge); `@SkipMetering()` excludes a method or a class. The decorator
 * alone is enough: it applies {@link MeteringGuard} (which never blocks; it starts the metering)
 * and, only where the handler's value or completion must be observed, a small interceptor. It
 * writes metadata only; options are checked when the application starts, with messages naming the
 * route and the field.
 *
 * @param reasonOrOptions - the reason (1-500 characters), or {@link MeteredOptions}. Default: the module's `reason`.
 *
 * @example
 * @Controller('reports')
 * @Metered('report_viewed')
 * export class ReportsController {
 *   @Post() @Metered({ reason: 'report_generated', delta: (req, result) => -result.pages }) create() { ... }
 *   @Get(':id') findOne() { ... }            // billed as report_viewed, -1
 *   @Get('health') @SkipMetering() health() { ... }
 * }
 * @publicApi
 */
export function Metered(reasonOrOptions?: string | MeteredOptions): ClassDecorator & MethodDecorator {
  const options: MeteredOptions = typeof reasonOrOptions === 'string' ? { reason: reasonOrOptions } : (reasonOrOptions ?? {});
  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor): any => {
    SetMetadata(METERED_METADATA, options)(target as Function, propertyKey as string, descriptor as PropertyDescriptor);
    UseGuards(MeteringGuard)(target as Function, propertyKey as string, descriptor as PropertyDescriptor);
    const host: Function = descriptor ? descriptor.value : target;
    const cls: Function = descriptor ? (target as { constructor: Function }).constructor : (target as Function);
    const observer = new MeteredResultObserver(routeNeedsResult(options), descriptor ? host : undefined, cls);
    // Written like @UseInterceptors() does, without its check, which would read `intercept` too early.
    const previous = (reflect.getMetadata(NEST_INTERCEPTORS_METADATA, host) as unknown[] | undefined) ?? [];
    reflect.defineMetadata(NEST_INTERCEPTORS_METADATA, [...previous, observer], host);
    return descriptor;
  };
}
