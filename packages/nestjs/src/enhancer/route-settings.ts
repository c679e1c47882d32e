import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { messages } from '../module/metering.messages.js';
import type { ResolvedMeteringOptions } from '../module/metering.options.js';
import { compileRoute, describeHandler, isSseHandler, selectMetered, type RouteMetering } from '../metering/metering.route.js';
import { EXPOSES_REQUEST_ID } from '../calls/billed-request-ids.js';
import { errorText } from './error-text.js';

/**
 * @internal The first extension point of the enhancer: which settings a handler is metered with.
 * Compiled once per handler (and per class, for a handler two controllers inherit), never per
 * request; `null` means "not metered". A route whose settings cannot work is left unmetered with
 * one warning (the start-up explorer has already refused explicit decorations).
 */
export class RouteSettings {
  /** Compiled settings per handler, with the class they were compiled for. */
  private readonly routes = new WeakMap<Function, { cls: Function; route: RouteMetering | null }>();

  constructor(
    private readonly reflector: Reflector,
    private readonly options: () => ResolvedMeteringOptions,
    private readonly warnOnce: (key: string, message: string) => void,
  ) {}

  /** The settings of the handler `context` is about (cached), or `null` when it is not metered. */
  of(context: ExecutionContext): RouteMetering | null {
    const cls = context.getClass();
    const handler = context.getHandler();
    const cached = this.routes.get(handler);
    if (cached !== undefined && cached.cls === cls) return cached.route;
    // A handler inherited by two controllers is compiled again when the class changes: rare, and correct.
    const route = this.compile(cls, handler);
    this.routes.set(handler, { cls, route });
    return route;
  }

  private compile(cls: Function, handler: Function): RouteMetering | null {
    const options = this.options();
    const selected = selectMetered(this.reflector, handler, cls, options.reason);
    if (selected === null) return null;
    const where = describeHandler(cls, handler);
    // An @Sse() route is metered as a stream by an explicit @Metered; the module default skips it.
    const sse = isSseHandler(this.reflector, handler);
    if (sse && selected.source === 'module') return null;
    try {
      const route = compileRoute(options, selected.options, where, selected.source, sse);
      // A handler with @BillingRequestId() gets the id it is billed under recorded for it.
      if (this.reflector.get<boolean | undefined>(EXPOSES_REQUEST_ID, handler) === true) route.exposesRequestId = true;
      return route;
    } catch (err) {
      this.warnOnce(`${where}:config`, messages.routeConfigInvalid(where, errorText(err)));
      return null;
    }
  }
}
