import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { BalanceGuard } from './balance.guard.js';
import { balanceGateOf } from './balance.providers.js';
import { compileGated, selectGated } from './balance.route.js';
import { METERING_RUNTIME } from './metering.constants.js';
import type { MeteringRuntime } from './metering.providers.js';
import { describeHandler } from './metering.route.js';
import { forEachHandler, isAppGuard } from './handlers.js';

/**
 * @internal Checks every `@RequireBalance` route once, when the application initialises: a
 * customerId resolver must apply; and when some route is gated (or `BalanceGuard` is an
 * `APP_GUARD`) it creates the gate, which must be creatable (a bad `balance` option, `aggregate`,
 * a client without derive). A problem aborts `app.init()` / `app.listen()` with a `MeteringConfigError` naming it.
 */
@Injectable()
export class BalanceExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Inject(METERING_RUNTIME) private readonly runtime: MeteringRuntime,
  ) {}

  onModuleInit(): void {
    let gated = this.discovery.getProviders().some((wrapper) => isAppGuard(wrapper, BalanceGuard));
    forEachHandler(this.discovery.getControllers(), this.scanner, (cls, handler) => {
      const selected = selectGated(this.reflector, handler, cls);
      if (selected === null || selected === undefined) return;
      compileGated(this.runtime, selected, describeHandler(cls, handler));
      gated = true;
    });
    if (gated) balanceGateOf(this.runtime);
  }
}
