import type { Reflector } from '@nestjs/core';
import { MeteringConfigError } from '@pacspace-metering/core';
import { DEFAULT_PRICE, REQUIRE_BALANCE_METADATA, SKIP_BALANCE_METADATA } from './balance.constants.js';
import type { PriceResolver, RequireBalanceOptions } from './balance-options.interface.js';
import type { MeteringRuntime } from '../module/metering.providers.js';
import type { CustomerIdResolver } from '../module/metering-options.interface.js';

/** @internal How one handler is gated, compiled once per handler. */
export interface GatedRoute {
  price: number | PriceResolver;
  customerId: CustomerIdResolver;
}

/** @internal The `@RequireBalance` options that apply to a handler (the method's, else the class's), `null` when skipped, `undefined` when none. */
export function selectGated(reflector: Reflector, handler: Function, cls: Function): RequireBalanceOptions | null | undefined {
  if (reflector.get(SKIP_BALANCE_METADATA, handler) === true) return null;
  const own = reflector.get<RequireBalanceOptions | undefined>(REQUIRE_BALANCE_METADATA, handler);
  if (own !== undefined) return own;
  if (reflector.get(SKIP_BALANCE_METADATA, cls) === true) return null;
  return reflector.get<RequireBalanceOptions | undefined>(REQUIRE_BALANCE_METADATA, cls);
}

/**
 * @internal A handler's gating: its own options over the module's `balance` defaults (price `1`;
 * customerId from `balance.customerId`, else the module's `customerId`). Throws
 * {@link MeteringConfigError} naming the route when no customerId resolver applies.
 */
export function compileGated(runtime: MeteringRuntime, options: RequireBalanceOptions, where: string): GatedRoute {
  const defaults = runtime.options.balance;
  const customerId = options.customerId ?? defaults?.customerId ?? runtime.options.customerId;
  if (customerId === undefined) {
    throw new MeteringConfigError('customerId', `${where} is gated by @RequireBalance but no customerId resolver applies: give @RequireBalance({ customerId }), or balance.customerId or customerId in MeteringModule.forRoot()`);
  }
  return { price: options.price ?? defaults?.price ?? DEFAULT_PRICE, customerId };
}
