import type { ExecutionContext } from '@nestjs/common';
import type { MeteredCall } from '../metering/metering.call.js';
import type { RouteMetering } from '../metering/metering.route.js';

/**
 * How the enhancer meets one kind of call (Nest's `context.getType()`): the second extension
 * point. The HTTP adapter bills when the response closes; the message adapter (microservices,
 * gateways, any other context) when the handler's observable completes.
 *
 * @example
 * const call = adapter.start(context, route); // undefined when already started, or nothing to observe
 * @publicApi
 */
export interface CallAdapter {
  /**
   * Starts metering a call (a second start on the same call is a no-op). Returns the call an
   * observer must hand the handler's value or completion to, or `undefined`.
   */
  start(context: ExecutionContext, route: RouteMetering): MeteredCall | undefined;
}
