import { Inject, Injectable, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { METERING_RUNTIME } from '../module/metering.constants.js';
import { errorText } from './error-text.js';
import { MeteringEnhancer } from './metering.enhancer.js';
import { messages } from '../module/metering.messages.js';
import type { MeteringRuntime } from '../module/metering.providers.js';

/**
 * A guard that never blocks: it only starts metering the call. `@Metered()` applies it, because a
 * guard is the cheapest place Nest offers that knows the handler: unlike any interceptor, it adds
 * no rxjs pipeline to the request. For HTTP it claims the request, resolves (and, with
 * `responseHeader`, echoes) the request id, and registers one `close` listener on the raw
 * response (Express `res`, Fastify `reply.raw`); the call is billed when the response has been
 * fully written with a success status.
 *
 * Bound with `APP_GUARD`, it meters every HTTP route with the module's default `reason` (routes
 * with `@SkipMetering()` and `@Sse()` routes excepted), at almost no cost. Microservice handlers
 * need {@link MeteringInterceptor} for that (a guard cannot see a handler complete).
 *
 * @example
 * @Module({
 *   imports: [MeteringModule.forRoot({ reason: 'api_request', customerId: (req) => req.user.id, isGlobal: true })],
 *   providers: [{ provide: APP_GUARD, useClass: MeteringGuard }],
 * })
 * export class AppModule {}
 * @publicApi
 */
@Injectable()
export class MeteringGuard extends MeteringEnhancer implements CanActivate {
  constructor(reflector: Reflector, @Optional() @Inject(METERING_RUNTIME) runtime?: MeteringRuntime, @Optional() moduleRef?: ModuleRef) {
    super(reflector, runtime, moduleRef);
  }

  /** Always `true`; metering never decides whether a call may run. */
  canActivate(context: ExecutionContext): boolean {
    try {
      const route = this.routeFor(context);
      if (route === null) return true;
      // Outside HTTP the call is billed when the handler completes, which only an interceptor sees:
      // @Metered adds its own observer for those handlers, the module default does not.
      if (route.source !== 'module' || context.getType() === 'http') this.adapterFor(context).start(context, route);
    } catch (err) {
      this.warnOnce('guard', messages.resolverFailed('a request', 'metering', errorText(err)));
    }
    return true;
  }
}
