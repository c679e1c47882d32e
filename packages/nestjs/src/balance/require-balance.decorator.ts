import { Inject, SetMetadata, UseGuards } from '@nestjs/common';
import { BALANCE_GATE, REQUIRE_BALANCE_METADATA, SKIP_BALANCE_METADATA } from './balance.constants.js';
import { BalanceGuard } from './balance.guard.js';
import { checkPrice } from './balance.options.js';
import { MeteringConfigError } from '@pacspace-metering/core';
import type { PriceResolver, RequireBalanceOptions } from './balance-options.interface.js';

/**
 * Serves a route (on a method) or every route of a controller (on a class) only when the caller's
 * balance covers its price, checked before the handler runs; otherwise the call is answered **402**
 * `application/problem+json` (`type`, `title`, `detail`, `customerId`, `balance`, `price`), or
 * **503** with `Retry-After` when PacSpace could not be asked and the gate's `whenUnavailable` is
 * `'refuse'`. The price is reserved until the response closes. It applies {@link BalanceGuard};
 * bind that guard with `APP_GUARD` instead to gate every HTTP route with the module's defaults.
 *
 * @param priceOrOptions - the price (a number ≥ 0, or `(req, context) => number`), or
 *   `{ price, customerId }`. Default: the module's `balance.price` (`1`) and `balance.customerId`
 *   (else the module's `customerId`).
 *
 * @example
 * @Post('reports')
 * @RequireBalance(5)
 * @Metered({ reason: 'report_generated', delta: -5 })
 * create() { ... }
 * @publicApi
 */
export function RequireBalance(priceOrOptions?: number | PriceResolver | RequireBalanceOptions): ClassDecorator & MethodDecorator {
  const options: RequireBalanceOptions = typeof priceOrOptions === 'object' && priceOrOptions !== null ? priceOrOptions : priceOrOptions === undefined ? {} : { price: priceOrOptions };
  // A bad price fails where the route is declared, when the application loads.
  checkPrice(options.price, '@RequireBalance price');
  if (options.customerId !== undefined && typeof options.customerId !== 'function') throw new MeteringConfigError('@RequireBalance customerId', 'must be a function (req, context) => the customer id');
  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor): any => {
    SetMetadata(REQUIRE_BALANCE_METADATA, options)(target as Function, propertyKey as string, descriptor as PropertyDescriptor);
    UseGuards(BalanceGuard)(target as Function, propertyKey as string, descriptor as PropertyDescriptor);
    return descriptor;
  };
}

/**
 * Lets a route (or every route of a controller) through without a balance check, when
 * `BalanceGuard` is bound globally or the class has `@RequireBalance()`. On a method it wins.
 *
 * @example
 * @Get('health') @SkipBalanceCheck() health() { return 'ok'; }
 * @publicApi
 */
export function SkipBalanceCheck(): ClassDecorator & MethodDecorator {
  return SetMetadata(SKIP_BALANCE_METADATA, true);
}

/**
 * Injects the module's balance gate (for `gate.stats()`, metrics, or checks of your own).
 *
 * @example
 * constructor(@InjectBalanceGate() private readonly gate: BalanceGate) {}
 * @publicApi
 */
export function InjectBalanceGate(): ParameterDecorator & PropertyDecorator {
  return Inject(BALANCE_GATE);
}
