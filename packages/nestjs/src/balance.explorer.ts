import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { balanceGateOf } from './balance.providers.js';
import { compileGated, selectGated } from './balance.route.js';
import { METERING_RUNTIME } from './metering.constants.js';
import type { MeteringRuntime } from './metering.providers.js';
import { describeHandler } from './metering.route.js';

/**
 * @internal Checks every `@RequireBalance` route once, when the application initialises: a
 * customerId resolver must apply, and the gate must be creatable (a bad `balance` option, or
 * `aggregate`). A problem aborts `app.init()` / `app.listen()` with a `MeteringConfigError` naming it.
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
    let gated = false;
    for (const wrapper of this.discovery.getControllers()) {
      const cls = wrapper.metatype as Function | null | undefined;
      if (typeof cls !== 'function') continue;
      const prototype = cls.prototype as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler !== 'function') continue;
        const selected = selectGated(this.reflector, handler, cls);
        if (selected === null || selected === undefined) continue;
        compileGated(this.runtime, selected, describeHandler(cls, handler));
        gated = true;
      }
    }
    if (gated) balanceGateOf(this.runtime);
  }
}
