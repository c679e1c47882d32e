import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import { CALL, NEST_GUARDS_METADATA, NEST_INTERCEPTORS_METADATA, NEST_METHOD_METADATA, NEST_PATH_METADATA, NEST_SSE_METADATA } from '../module/metering.constants.js';
import type { MeteredCall } from './metering.call.js';
import { observeStream } from './stream.observer.js';

const reflect = Reflect as unknown as { getMetadata(key: string, target: object): unknown; getOwnMetadataKeys(target: object): unknown[] };

/**
 * @internal Hands the handler's value to the call started by the guard (or interceptor): for HTTP
 * the last value emitted, for a `delta`/`metadata` function to read; elsewhere also the completion,
 * which bills the call. Errors bill nothing.
 */
export function observeHandler(context: ExecutionContext, next: CallHandler): Observable<unknown> {
  const http = context.getType() === 'http';
  const holder = (http ? (context.getArgByIndex<{ raw?: object }>(1).raw ?? context.getArgByIndex<object>(1)) : context.getArgs()) as Record<symbol, MeteredCall | undefined>;
  const call = holder[CALL];
  if (call === undefined || call.observed) return next.handle();
  call.observed = true;
  if (http && call.stream !== undefined) return observeStream(call.stream, next);
  if (http) {
    return next.handle().pipe(
      tap((value) => {
        call.result = value;
      }),
    );
  }
  return next.handle().pipe(
    tap({
      next: (value) => {
        call.result = value;
      },
      complete: () => call.bill(),
    }),
  );
}

/**
 * @internal The interceptor `@Metered` adds next to its guard, one per decoration. Nest reads an
 * interceptor's `intercept` once, when it builds a handler, and leaves out objects without one; so
 * this `intercept` is only present where something must be observed: a route whose own `delta` or
 * `metadata` is a function of the handler's value, or a handler that is not an HTTP route
 * (microservice message, gateway, resolver), which is billed when it completes. Plain HTTP routes
 * get no interceptor at all, and with it none of the rxjs work Nest does per intercepted request.
 * It is decided when read, because `@Metered` may be applied before `@Get()` or `@MessagePattern()`.
 */
export class MeteredResultObserver {
  private classDecision: boolean | undefined;

  constructor(
    private readonly needsResult: boolean,
    /** The decorated method, or undefined for a class decoration. */
    private readonly handler: Function | undefined,
    private readonly cls: Function,
  ) {}

  get intercept(): typeof observeHandler | undefined {
    if (this.needsResult) return observeHandler;
    if (this.handler !== undefined) return isHttpRoute(this.handler) && !isSse(this.handler) ? undefined : observeHandler;
    this.classDecision ??= hasNonHttpHandler(this.cls) || hasSseHandler(this.cls);
    return this.classDecision ? observeHandler : undefined;
  }
}

function isSse(handler: Function): boolean {
  return !!reflect.getMetadata(NEST_SSE_METADATA, handler);
}

/** True when a class has an `@Sse()` method: a class-level `@Metered` meters it as a stream, which needs an observer. */
function hasSseHandler(cls: Function): boolean {
  for (let prototype = cls.prototype as object | null; prototype !== null && prototype !== Object.prototype; prototype = Object.getPrototypeOf(prototype)) {
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = name === 'constructor' ? undefined : Object.getOwnPropertyDescriptor(prototype, name)?.value;
      if (typeof method === 'function' && isSse(method)) return true;
    }
  }
  return false;
}

function isHttpRoute(handler: Function): boolean {
  return reflect.getMetadata(NEST_PATH_METADATA, handler) !== undefined && reflect.getMetadata(NEST_METHOD_METADATA, handler) !== undefined;
}

/**
 * True when a class has a method that looks like a handler of another kind: it carries metadata
 * of some decorator (not TypeScript's `design:*`, not ours) but no HTTP route. Microservice
 * patterns, gateway messages and GraphQL resolvers all qualify; a wrong guess only costs an
 * interceptor, never a missed bill.
 */
function hasNonHttpHandler(cls: Function): boolean {
  for (let prototype = cls.prototype as object | null; prototype !== null && prototype !== Object.prototype; prototype = Object.getPrototypeOf(prototype)) {
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = name === 'constructor' ? undefined : Object.getOwnPropertyDescriptor(prototype, name)?.value;
      if (typeof method === 'function' && !isHttpRoute(method) && reflect.getOwnMetadataKeys(method).some(isHandlerMetadata)) return true;
    }
  }
  return false;
}

function isHandlerMetadata(key: unknown): boolean {
  if (typeof key !== 'string') return true;
  return !key.startsWith('design:') && !key.startsWith('pacspace-metering:') && key !== NEST_INTERCEPTORS_METADATA && key !== NEST_GUARDS_METADATA;
}
