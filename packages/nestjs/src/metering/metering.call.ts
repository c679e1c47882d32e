import type { ExecutionContext } from '@nestjs/common';
import type { RouteMetering } from './metering.route.js';

/**
 * @internal One call being metered, from the moment a guard or interceptor started it until it is
 * billed (or not), when an observer must hand it the handler's value or completion. Kept under
 * `CALL` on the raw response (HTTP) or on the argument list (other contexts).
 */
export interface MeteredCall {
  route: RouteMetering;
  /** The context of the guard or interceptor that started the call. */
  context: ExecutionContext;
  /** The framework request (Express `req`, Fastify `request`), or the message payload. */
  req: any;
  requestId: string;
  /** The last value the handler's observable emitted, once observed. */
  result: unknown;
  /** True once an observer took charge of the handler's value. */
  observed: boolean;
  /** Stream routes: the counter of what the handler sends (set by the adapter). */
  stream?: StreamCounter;
  /** Non-HTTP calls: bills the call, once the handler completed. (HTTP calls are billed when their response closes.) */
  bill(): void;
}

/** @internal What a stream route's observer drives: open once the guards passed, count each event or chunk, fail on error. */
export interface StreamCounter {
  /** Resolves who pays; false when nothing is to be counted (refused, or nothing to bill). */
  open(): boolean;
  count(value: unknown, chunk: boolean): void;
  fail(): void;
}
