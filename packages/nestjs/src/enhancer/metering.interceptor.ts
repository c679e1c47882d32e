import { Inject, Injectable, Optional, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { METERING_RUNTIME } from '../module/metering.constants.js';
import { MeteringEnhancer } from './metering.enhancer.js';
import { observeHandler } from '../metering/metered-result.observer.js';
import type { MeteringRuntime } from '../module/metering.providers.js';

/**
 * Meters every handler it is bound to that is not excluded: bound with `APP_INTERCEPTOR` and a
 * module `reason`, every route and message handler without `@SkipMetering()`; routes with
 * `@Metered` keep their own settings (their guard starts them). HTTP calls are billed when the
 * response has been fully written with a success status (the same `close` listener as
 * {@link MeteringGuard}); other calls (microservices) when the handler's observable completes
 * without error.
 *
 * Any interceptor makes Nest run an rxjs pipeline per request (~10-20% of a hello-world's
 * throughput here, even one that returns `next.handle()` untouched), so for HTTP-only apps
 * `MeteringGuard` as `APP_GUARD` is the cheaper global binding. Binding both is fine (hybrid apps):
 * the interceptor then leaves HTTP routes to the guard. A route with `@Metered` is never started
 * twice.
 *
 * @example
 * @Module({
 *   imports: [MeteringModule.forRoot({ reason: 'api_request', customerId: (req) => req.user.id, isGlobal: true })],
 *   providers: [{ provide: APP_INTERCEPTOR, useClass: MeteringInterceptor }],
 * })
 * export class AppModule {}
 * @publicApi
 */
@Injectable()
export class MeteringInterceptor extends MeteringEnhancer implements NestInterceptor {
  constructor(reflector: Reflector, @Optional() @Inject(METERING_RUNTIME) runtime?: MeteringRuntime, @Optional() moduleRef?: ModuleRef) {
    super(reflector, runtime, moduleRef);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = this.routeFor(context);
    if (route === null) return next.handle();
    if (context.getType() === 'http') {
      // A route with its own @Metered is started by @Metered's guard, and every route by a global
      // MeteringGuard, both of which run before any interceptor; here only the module default is.
      if (route.source === 'module' && !this.runtime.globalGuard) this.adapterFor(context).start(context, route);
      return next.handle();
    }
    if (this.adapterFor(context).start(context, route) === undefined) return next.handle();
    return observeHandler(context, next);
  }
}
