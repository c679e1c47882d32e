import type { MetadataScanner } from '@nestjs/core';

/**
 * @internal Calls `visit` with every method of every class among `wrappers` (controllers, and
 * providers that host handlers), for the start-up checks of the decorators.
 */
export function forEachHandler(wrappers: ReadonlyArray<{ metatype?: unknown }>, scanner: MetadataScanner, visit: (cls: Function, handler: Function) => void): void {
  for (const wrapper of wrappers) {
    const cls = wrapper.metatype as Function | null | undefined;
    if (typeof cls !== 'function') continue;
    const prototype = cls.prototype as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name];
      if (typeof handler === 'function') visit(cls, handler);
    }
  }
}

/** @internal Whether `wrapper` is `guard` (or a subclass) bound with `{ provide: APP_GUARD, useClass }` (registered under 'APP_GUARD (UUID: …)'). */
export function isAppGuard(wrapper: { metatype?: unknown; token?: unknown }, guard: Function): boolean {
  const metatype = wrapper.metatype as Function | null | undefined;
  const isGuard = metatype === guard || (typeof metatype === 'function' && metatype.prototype instanceof guard);
  return isGuard && typeof wrapper.token === 'string' && wrapper.token.startsWith('APP_GUARD');
}
