import type { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { BalanceGuard } from './balance.guard.js';
import { balanceGateOf } from './balance.providers.js';
import { compileGated, selectGated } from './balance.route.js';
import { forEachHandler, isAppGuard } from '../module/handlers.js';
import type { MeteringRuntime } from '../module/metering.providers.js';
import { describeHandler } from '../metering/metering.route.js';

/**
 * @internal The start-up check of `@RequireBalance` (run by the module's explorer when the
 * application initialises): every gated route must have a customerId resolver; and when some route
 * is gated, or `BalanceGuard` is an `APP_GUARD`, the gate is created now, so a bad `balance`
 * option, `aggregate` or a client without derive aborts `app.init()` / `app.listen()` with a
 * `MeteringConfigError` naming it. An app that gates nothing gets no gate (and tracks nothing).
 */
export function exploreGatedRoutes(discovery: DiscoveryService, scanner: MetadataScanner, reflector: Reflector, runtime: MeteringRuntime): void {
  let gated = discovery.getProviders().some((wrapper) => isAppGuard(wrapper, BalanceGuard));
  forEachHandler(discovery.getControllers(), scanner, (cls, handler) => {
    const selected = selectGated(reflector, handler, cls);
    if (selected === null || selected === undefined) return;
    compileGated(runtime, selected, describeHandler(cls, handler));
    gated = true;
  });
  if (gated) balanceGateOf(runtime);
}
