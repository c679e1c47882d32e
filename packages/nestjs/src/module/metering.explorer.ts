import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { METERING_RUNTIME } from './metering.constants.js';
import { MeteringGuard } from '../enhancer/metering.guard.js';
import type { MeteringRuntime } from './metering.providers.js';
import { compileRoute, describeHandler, isSseHandler, selectMetered } from '../metering/metering.route.js';
import { forEachHandler, isAppGuard } from './handlers.js';
import { exploreGatedRoutes } from '../balance/balance.explorer.js';

/**
 * @internal Checks every controller and provider once, when the application initialises: each explicit
 * `@Metered` (on a method, or inherited from its class) must compile (a reason, a customerId
 * resolver, valid delta and metadata; on an `@Sse()` route a per-unit delta); and the
 * `@RequireBalance` routes (see `exploreGatedRoutes`). A problem aborts
 * `app.init()` / `app.listen()` with a `MeteringConfigError` naming the route and the field.
 */
@Injectable()
export class MeteringExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Inject(METERING_RUNTIME) private readonly runtime: MeteringRuntime,
  ) {}

  onModuleInit(): void {
    const providers = this.discovery.getProviders();
    this.runtime.globalGuard = providers.some((wrapper) => isAppGuard(wrapper, MeteringGuard));
    // Controllers, and providers that host handlers too (GraphQL resolvers, gateways).
    forEachHandler([...this.discovery.getControllers(), ...providers], this.scanner, (cls, handler) => {
      // Only explicit decorations are checked; the module default was checked with the module options.
      const selected = selectMetered(this.reflector, handler, cls, undefined);
      if (selected === null) return;
      const where = describeHandler(cls, handler);
      compileRoute(this.runtime.options, selected.options, where, selected.source, isSseHandler(this.reflector, handler));
    });
    exploreGatedRoutes(this.discovery, this.scanner, this.reflector, this.runtime);
  }
}
