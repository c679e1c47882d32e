import { HttpException, Inject, Injectable, Optional, type CanActivate, type ExecutionContext, type OnModuleInit } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { customerIdOf, DeltaValidationError, isUnbilledOptionsRequest, MeteringConfigError, refusalAnswer, thenableError, type BalanceCheck, type BalanceGate } from '@pacspace-metering/core';
import { balanceGateOf } from './balance.providers.js';
import { compileGated, selectGated, type GatedRoute } from './balance.route.js';
import { METERING_RUNTIME } from '../module/metering.constants.js';
import { describeHandler } from '../metering/metering.route.js';
import type { MeteringRuntime } from '../module/metering.providers.js';

/**
 * The guard behind {@link RequireBalance}: before the handler, it asks the module's balance gate
 * whether the caller's balance covers the route's price. Allowed: the price is reserved until the
 * raw response closes (Express `res`, Fastify `reply.raw`). Refused: it throws an `HttpException`
 * with the problem details (402, or 503 with `Retry-After`), after setting `Content-Type:
 * application/problem+json` on the response. A customerId or price that cannot be checked throws a
 * `DeltaValidationError` (Nest answers 500). Only HTTP calls are gated; CORS preflights pass.
 *
 * Bound with `APP_GUARD`, it gates every HTTP route with the module's `balance` defaults (routes
 * with `@SkipBalanceCheck()` excepted).
 *
 * @example
 * @Module({
 *   imports: [MeteringModule.forRoot({ customerId: (req) => req.user.id, balance: { price: 1 }, isGlobal: true })],
 *   providers: [{ provide: APP_GUARD, useClass: BalanceGuard }],
 * })
 * export class AppModule {}
 * @publicApi
 */
@Injectable()
export class BalanceGuard implements CanActivate, OnModuleInit {
  private readonly routes = new WeakMap<Function, { cls: Function; route: GatedRoute | null }>();
  private gateRef: BalanceGate | undefined;

  constructor(
    private readonly reflector: Reflector,
    @Optional() @Inject(METERING_RUNTIME) private readonly runtime?: MeteringRuntime,
  ) {}

  /**
   * A missing MeteringModule aborts the bootstrap. (The gate itself is created at start-up by the
   * module when a route or an `APP_GUARD` uses this guard; MeteringModule provides this guard to
   * every app, so its mere presence must not create one.)
   */
  onModuleInit(): void {
    if (this.runtime === undefined) void this.gate;
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const route = this.routeFor(context);
    if (route === null) return true;
    const req: any = context.getArgs()[0];
    const res: any = context.getArgs()[1];
    // A CORS preflight carries no credentials and does no work: the call that follows is checked.
    if (isUnbilledOptionsRequest(req, true)) return true;
    let check: BalanceCheck | Promise<BalanceCheck>;
    try {
      const customerId = customerIdOf(resolved('customerId', route.customerId(req, context)));
      const price = typeof route.price === 'number' ? route.price : resolved('price', route.price(req, context));
      check = this.gate.check(customerId as string, price as number);
    } catch (err) {
      throw err instanceof DeltaValidationError ? err : new DeltaValidationError('customerId', `a @RequireBalance resolver threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    return check instanceof Promise ? check.then((c) => this.admit(c, req, res)) : this.admit(check, req, res);
  }

  private get gate(): BalanceGate {
    if (this.runtime === undefined) throw new MeteringConfigError('MeteringModule', 'BalanceGuard (@RequireBalance) needs MeteringModule: import MeteringModule.forRoot() in this module, or with isGlobal: true');
    return (this.gateRef ??= balanceGateOf(this.runtime));
  }

  private admit(check: BalanceCheck, req: any, res: any): boolean {
    if (check.allowed) {
      if (check.price > 0) (res.raw ?? res).on('close', () => check.release());
      return true;
    }
    const shape = this.runtime!.options.balance?.problem;
    const answer = refusalAnswer(check, shape && ((problem) => shape(problem, req)), (err) =>
      this.gate.logger.error({ err }, 'pacspace-metering: the balance problem option threw; the default problem was sent'),
    );
    // Fastify keeps its own headers (reply.header), Express its response's (res.header is res.set).
    for (const [name, value] of Object.entries(answer.headers)) (typeof res.header === 'function' ? res.header(name, value) : res.setHeader(name, value));
    throw new HttpException(JSON.parse(answer.body) as Record<string, unknown>, answer.status);
  }

  /** The handler's gating (compiled once per handler), or `null` when it is not gated. */
  private routeFor(context: ExecutionContext): GatedRoute | null {
    const cls = context.getClass();
    const handler = context.getHandler();
    const cached = this.routes.get(handler);
    if (cached !== undefined && cached.cls === cls) return cached.route;
    const selected = selectGated(this.reflector, handler, cls);
    // No @RequireBalance: the guard is bound globally (APP_GUARD), so the module defaults apply.
    const route = selected === null ? null : compileGated(this.runtime!, selected ?? {}, describeHandler(cls, handler));
    this.routes.set(handler, { cls, route });
    return route;
  }
}

/** A resolver's value, unless it is a Promise (resolvers are synchronous). */
function resolved(option: string, value: unknown): unknown {
  const error = thenableError(value, option);
  if (error !== undefined) throw error;
  return value;
}
