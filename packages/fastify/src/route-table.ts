import { MeteringConfigError } from '@pacspace-metering/core';
import { compileRoute, type RouteSettings } from './settings.js';

/** What a route's settings lookup answers: how to bill it, `null` (not metered), or why its config cannot work. */
export type RouteLookup = RouteSettings | null | MeteringConfigError;

/**
 * Each route's settings, compiled once from its `config.metering` and kept per config object: at
 * the route's registration when the plugin sees it (`onRoute`: a bad config then fails the start,
 * naming the route), else on the route's first request (a route declared before the plugin was
 * loaded, e.g. after an `app.register()` that was not awaited).
 */
export class RouteTable {
  private readonly compiled = new WeakMap<object, RouteSettings | MeteringConfigError>();

  constructor(private readonly defaults: RouteSettings) {}

  /** `onRoute`: compiles the route's settings; throws {@link MeteringConfigError} naming the field and the route. */
  register(route: { method: string | string[]; url: string; config?: { metering?: unknown } | undefined }): void {
    const metering = route.config?.metering;
    if (metering === undefined || metering === false) return;
    const settings = compileRoute(this.defaults, metering, `${String(route.method)} ${route.url}`);
    if (typeof metering === 'object' && metering !== null) this.compiled.set(metering, settings);
  }

  /** The settings of a route whose config holds `metering`; `url` names it in an error. Never throws. */
  lookup(metering: unknown, url: string | undefined): RouteLookup {
    if (metering === undefined) return this.defaults;
    if (metering === false) return null;
    const cached = typeof metering === 'object' && metering !== null ? this.compiled.get(metering) : undefined;
    if (cached !== undefined) return cached;
    let settings: RouteSettings | MeteringConfigError;
    try {
      settings = compileRoute(this.defaults, metering, url ?? '(no route)');
    } catch (err) {
      settings = err instanceof MeteringConfigError ? err : new MeteringConfigError('config.metering', String(err));
    }
    if (typeof metering === 'object' && metering !== null) this.compiled.set(metering, settings);
    return settings;
  }
}
