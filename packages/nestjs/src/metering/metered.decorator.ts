import { SetMetadata, UseGuards } from '@nestjs/common';
import { METERED_METADATA, NEST_INTERCEPTORS_METADATA } from '../module/metering.constants.js';
import { MeteredResultObserver } from './metered-result.observer.js';
import { MeteringGuard } from '../enhancer/metering.guard.js';
import { routeNeedsResult } from './metering.route.js';
import type { MeteredDelta, MeteredOptions } from '../module/metering-options.interface.js';

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
 * Several meters per call: `@Metered([{ reason, delta }, ...])`, each billed once under its own
 * referenceId from the same handler value. A resolver answering `0` or `NOTHING_TO_BILL` bills
 * nothing (counted in `stats().skipped`). `Result` types the handler's value in the resolvers, so
 * a misspelled field is a compile error: `@Metered<Completion>({ delta: (req, r) => -r.usage.tokens })`.
 *
 * @param reasonOrOptions - the reason (1-500 characters), {@link MeteredOptions}, or a list of {@link MeteredDelta}. Default: the module's `reason`.
 * @typeParam Result - the handler's value (what its Observable emits last, or its Promise resolves to). Default: `any`.
 * @typeParam Req - the framework request. Default: `any`.
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
export function Metered<Result = any, Req = any>(reasonOrOptions?: string | MeteredOptions<Req, Result> | ReadonlyArray<MeteredDelta<Req, Result>>): ClassDecorator & MethodDecorator {
  const options: MeteredOptions | ReadonlyArray<MeteredDelta> = typeof reasonOrOptions === 'string' ? { reason: reasonOrOptions } : (reasonOrOptions ?? {});
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
