import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Logger, type ExecutionContext, type OnModuleInit } from '@nestjs/common';
import type { ModuleRef, Reflector } from '@nestjs/core';
import { DeltaValidationError, MeteringConfigError, PROCESS_INSTANCE_ID, claimKey, customerIdOf, hasClaims, isAcceptedRequestId, isClaimed, isUnbilledOptionsRequest, onResponseCompleted, resolveRequestId, thenableError, type RequestIdOptions } from '@pacspace-metering/core';
import { CALL, METERING_RUNTIME } from '../module/metering.constants.js';
import type { MeteredCall } from '../metering/metering.call.js';
import { messages } from '../module/metering.messages.js';
import type { MeteringRuntime } from '../module/metering.providers.js';
import { compileRoute, describeHandler, isSseHandler, selectMetered, type RouteMetering } from '../metering/metering.route.js';

/** What an HTTP request or response looks like here: Express objects, or Fastify's with `.raw`. */
export type HttpObject = Record<string | symbol, any> & { raw?: any };

/**
 * What {@link MeteringGuard} and {@link MeteringInterceptor} share: finding a handler's settings
 * (compiled once per handler, not per request), starting a call (claim, request id, response
 * header, one `close` listener on the raw response), and billing it. Subclass the guard
 * or the interceptor to change the `protected` extension points: {@link getRequestId},
 * {@link getMessageId}, {@link isSuccess}, {@link getRoute}, {@link buildMetadata}.
 *
 * @example
 * @Injectable()
 * export class TenantMeteringGuard extends MeteringGuard {
 *   protected override getRoute(req: any) { return `${req.hostname}${super.getRoute(req) ?? ''}`; }
 * }
 * @publicApi
 */
export abstract class MeteringEnhancer implements OnModuleInit {
  protected readonly logger = new Logger('Metering');
  /** Compiled settings per handler (and the class it was compiled for); `null` = not metered. */
  private readonly routes = new WeakMap<Function, { cls: Function; route: RouteMetering | null }>();
  private readonly warned = new Set<string>();
  private runtimeRef: MeteringRuntime | undefined;
  private requestIdOptions: RequestIdOptions<any> | undefined;

  protected constructor(
    protected readonly reflector: Reflector,
    runtime: MeteringRuntime | undefined,
    private readonly moduleRef: ModuleRef | undefined,
  ) {
    this.runtimeRef = runtime;
  }

  /** Fails the bootstrap, rather than the first request, when no MeteringModule is reachable. */
  onModuleInit(): void {
    void this.runtime;
  }

  /**
   * Starts metering an HTTP call, unless a guard before this one already did or it is an
   * `OPTIONS` request left unbilled (a CORS preflight always, any other one unless the module's
   * `meterOptionsRequests` is on; see `isUnbilledOptionsRequest` in core): resolves the
   * request id, echoes it, and registers one `close` listener on the raw response (Express `res`,
   * Fastify `reply.raw`). The call is billed when the response closes after being fully written
   * (`writableFinished`: every byte handed to the OS) with a success status; a response closed
   * before that (client gone, socket error) is an abort and bills nothing. With a durable store it
   * is billed when the handler ends the response instead, before the bytes leave.
   *
   * Per request this is one closure, one listener and one response header, and nothing goes through
   * rxjs. It writes no property on the request or the response (adding one measured ~3-4% of a
   * hello-world's throughput each, by making Express's own property accesses polymorphic): the claim
   * is kept on the argument list Nest passes to every guard of the call.
   */
  protected startHttp(context: ExecutionContext, route: RouteMetering): void {
    const args = context.getArgs() as unknown[] & Record<symbol, unknown>;
    if (args[CALL] !== undefined) return;
    const req = args[0] as HttpObject;
    // A CORS preflight is never a billable call, nor (by default) any other OPTIONS request.
    if (isUnbilledOptionsRequest(req as Parameters<typeof isUnbilledOptionsRequest>[0], this.runtime.options.meterOptionsRequests)) return;
    const res = args[1] as HttpObject;
    const rawRes: ServerResponse & Record<symbol, unknown> = res.raw ?? res;
    let requestId: string;
    try {
      requestId = this.getRequestId(req, res);
    } catch (err) {
      return this.startUnidentified(args, rawRes, req, res, route, err);
    }
    const header = this.runtime.options.responseHeader;
    if (header !== undefined) echo(rawRes, header, requestId);
    if (!route.needsResult) {
      args[CALL] = STARTED;
      // 'close' follows 'finish' on every response, and is the only event of an aborted one: a
      // single listener, never removed (the response is discarded after it). The outcome test of
      // core's onResponseDone, inlined to save one closure per request.
      onResponseCompleted(rawRes, this.acceptAtEnd, () =>
        this.isSuccess(req, res, rawRes) ? this.record(route, context, req, requestId, undefined, this.httpMetadata(req)) : undefined,
      );
      return;
    }
    // The route's observer (an interceptor, run later with its own argument list) finds the call
    // on the raw response, to hand it the handler's value.
    const call = new PendingCall(this, route, context, req, requestId);
    args[CALL] = call;
    rawRes[CALL] = call;
    onResponseCompleted(rawRes, this.acceptAtEnd, () =>
      this.isSuccess(req, res, rawRes) ? this.record(route, context, req, requestId, call.result, this.httpMetadata(req)) : undefined,
    );
  }

  /**
   * An HTTP call whose request id could not be found (`getRequestId` threw: by default, the
   * `requestId` option threw or returned a Promise). It is echoed under a fresh UUID, and refused
   * if it succeeds, rather than billed under an id nobody chose.
   */
  private startUnidentified(args: Record<symbol, unknown>, rawRes: ServerResponse, req: HttpObject, res: HttpObject, route: RouteMetering, err: unknown): void {
    args[CALL] = STARTED;
    const header = this.runtime.options.responseHeader;
    if (header !== undefined) echo(rawRes, header, randomUUID());
    onResponseCompleted(rawRes, this.acceptAtEnd, () => {
      if (this.isSuccess(req, res, rawRes)) this.refuse(route, 'requestId', err);
    });
  }

  /** Starts metering a non-HTTP call (microservice message, ...), billed by {@link MeteredCall.bill} when the handler completes. */
  protected startOther(context: ExecutionContext, route: RouteMetering): MeteredCall | undefined {
    const args = context.getArgs() as unknown[] & Record<symbol, unknown>;
    if (args[CALL] !== undefined) return undefined;
    const payload: unknown = args[0];
    let call: PendingCall;
    try {
      call = new PendingCall(this, route, context, payload, this.getMessageId(payload, context));
    } catch (err) {
      call = new PendingCall(this, route, context, payload, randomUUID(), err);
    }
    args[CALL] = call;
    return call;
  }

  /** The settings of the handler a context is about (cached), or `null` when it is not metered. */
  protected routeFor(context: ExecutionContext): RouteMetering | null {
    const cls = context.getClass();
    const handler = context.getHandler();
    const cached = this.routes.get(handler);
    if (cached !== undefined && cached.cls === cls) return cached.route;
    // A handler inherited by two controllers is compiled again when the class changes: rare, and correct.
    const route = this.compile(cls, handler);
    this.routes.set(handler, { cls, route });
    return route;
  }

  /**
   * The request id of an HTTP call, per `@pacspace-metering/core`'s `resolveRequestId`: the
   * `requestId` option, then `req.id` (Fastify, pino-http) only with `trustUpstreamId`, then the
   * `requestIdHeader` when one is configured, then a fresh UUID (echoed in the response header,
   * where your code can read it with `res.getHeader('x-request-id')`; it is not written to `req`).
   * An id from `req.id` or a header is bound to the call (method and URL). A counter id (Fastify's
   * `req-1`, pino-http's `1`) is qualified with a random id of this application, not only of the
   * process. Throws the error naming `requestId` when the `requestId` option throws or returns a
   * Promise; a call whose id cannot be found is not billed but refused (counted, reported).
   */
  protected getRequestId(req: HttpObject, res: HttpObject): string {
    // Behind the Express meterRequests() middleware: bill under the id it already chose. (Read
    // from `res` directly: each property read on Express's req/res is a lookup V8 cannot cache.)
    const fromMiddleware = res.locals?.[EXPRESS_REQUEST_ID];
    if (typeof fromMiddleware === 'string') return fromMiddleware;
    const { requestId, trustUpstreamId, requestIdHeader } = this.runtime.options;
    // The common case without a detour: nothing configured, a fresh id (req.id is not even read).
    if (requestId === undefined && requestIdHeader === undefined && !trustUpstreamId) return randomUUID();
    const options = (this.requestIdOptions ??= { requestId, trustUpstreamId, requestIdHeader });
    const { id, source, error } = resolveRequestId(req as Parameters<typeof resolveRequestId>[0], options);
    if (error !== undefined) throw error;
    return source !== 'generated' && id.startsWith(PROCESS_QUALIFIER) ? `${this.runtime.instanceId}${id.slice(PROCESS_INSTANCE_ID.length)}` : id;
  }

  /**
   * The id of a non-HTTP call: the `requestId` option applied to the payload (e.g. a message id),
   * else a fresh UUID. Throws, as {@link getRequestId} does, when the option throws or returns a Promise.
   */
  protected getMessageId(payload: unknown, _context: ExecutionContext): string {
    const own = this.runtime.options.requestId;
    if (own === undefined) return randomUUID();
    let value: unknown;
    try {
      value = own(payload);
    } catch (err) {
      throw new DeltaValidationError('requestId', `the requestId resolver threw: ${errorText(err)}`, { cause: err });
    }
    const refused = thenableError(value, 'requestId');
    if (refused !== undefined) throw refused;
    const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
    return isAcceptedRequestId(text) ? text : randomUUID();
  }

  /**
   * Whether a finished response is billed: the `isSuccess` option, else a status below 400. An
   * `isSuccess` that throws or returns a Promise bills nothing, and is refused like a resolver
   * (counted in `stats().dropped.invalid`, `onDrop`, `onError`; logged once).
   */
  protected isSuccess(req: HttpObject, res: HttpObject, rawRes: ServerResponse): boolean {
    const custom = this.runtime.options.isSuccess;
    if (custom === undefined) return rawRes.statusCode < 400;
    let answer: unknown;
    try {
      answer = custom(req, res);
    } catch (err) {
      this.refuseUndecidable(new DeltaValidationError('isSuccess', `the isSuccess option threw: ${errorText(err)}`, { cause: err }));
      return false;
    }
    const refused = thenableError(answer, 'isSuccess');
    if (refused !== undefined) this.refuseUndecidable(refused);
    return refused === undefined && !!answer;
  }

  private refuseUndecidable(error: DeltaValidationError): void {
    this.warnOnce('isSuccess', messages.resolverFailed('every route', 'isSuccess', errorText(error)));
    this.runtime.meter.refuse(error);
  }

  /** The route pattern (`/reports/:id`), never the raw URL: Express `req.route.path`, Fastify `request.routeOptions.url`. */
  protected getRoute(req: HttpObject): string | undefined {
    const pattern: unknown = req.route?.path ?? req.routeOptions?.url;
    return typeof pattern === 'string' ? pattern : undefined;
  }

  /** What every HTTP delta's metadata starts with: `route` (the pattern) and `method`. */
  protected httpMetadata(req: HttpObject): Record<string, unknown> {
    const route = this.getRoute(req);
    return route === undefined ? { method: req.method } : { route, method: req.method };
  }

  /**
   * The delta's metadata: `base` (route and method, or the handler for non-HTTP calls), then the
   * module's `metadata`, then the route's. A function that throws or returns something other than a
   * plain object refuses the delta.
   */
  protected buildMetadata(route: RouteMetering, context: ExecutionContext, req: unknown, result: unknown, base: Record<string, unknown>): Record<string, unknown> {
    if (route.moduleMetadata === undefined && route.routeMetadata === undefined) return base;
    const fromModule = typeof route.moduleMetadata === 'function' ? route.moduleMetadata(req, context) : route.moduleMetadata;
    const fromRoute = typeof route.routeMetadata === 'function' ? route.routeMetadata(req, result, context) : route.routeMetadata;
    const asynchronous = thenableError(fromModule, 'metadata') ?? thenableError(fromRoute, 'metadata');
    if (asynchronous !== undefined) throw asynchronous;
    if (!isPlainOrAbsent(fromModule) || !isPlainOrAbsent(fromRoute)) throw new TypeError('a metadata function returned something other than a plain object');
    return { ...base, ...fromModule, ...fromRoute };
  }

  /**
   * @internal Resolves the delta's fields and enqueues it, once per request and referenceId. A
   * resolver that throws makes the delta invalid on purpose, so the Meter refuses it the documented
   * way (counted in `stats().dropped.invalid`, passed to `onDrop`/`onError`). Never throws.
   */
  record(route: RouteMetering, context: ExecutionContext, req: unknown, requestId: string, result: unknown, base: Record<string, unknown>): Promise<boolean> | undefined {
    try {
      return this.enqueue(route, context, req, requestId, result, base);
    } catch (err) {
      // Unreachable by design (every user callback is guarded, enqueue never throws); a listener must never throw.
      this.warnOnce(`${route.where}:internal`, messages.resolverFailed(route.where, 'metering', errorText(err)));
      return undefined;
    }
  }

  /** Answers the store's promise of durability when it writes behind (the response then waits for it). */
  private enqueue(route: RouteMetering, context: ExecutionContext, req: unknown, requestId: string, result: unknown, base: Record<string, unknown>): Promise<boolean> | undefined {
    const { meter } = this.runtime;
    let customerId: unknown;
    let delta: unknown = route.delta;
    let metadata: unknown;
    try {
      customerId = route.customerId(req, context);
    } catch (err) {
      return this.refuse(route, 'customerId', err);
    }
    const asyncCustomer = thenableError(customerId, 'customerId');
    if (asyncCustomer !== undefined) return this.refuse(route, 'customerId', asyncCustomer);
    customerId = customerIdOf(customerId);
    if (typeof route.delta === 'function') {
      try {
        delta = route.delta(req, result, context);
      } catch (err) {
        return this.refuse(route, 'delta', err, customerId);
      }
      const asyncDelta = thenableError(delta, 'delta');
      if (asyncDelta !== undefined) return this.refuse(route, 'delta', asyncDelta, customerId);
    }
    try {
      metadata = this.buildMetadata(route, context, req, result, base);
    } catch (err) {
      return this.refuse(route, 'metadata', err, customerId);
    }
    // The referenceId is built by the Meter from the request id, so the same call metered twice
    // (say, by the Express middleware too) carries the same referenceId and counts once at
    // PacSpace; when the middleware already enqueued it (its claim, `claimKey`, is on the
    // request), not even a second delivery is made.
    // The Express middleware keeps its claims in `res.locals` (older versions: on `req`).
    const holder = req as HttpObject | undefined;
    const locals = holder?.res?.locals as object | undefined;
    const claims = locals !== undefined && hasClaims(locals) ? locals : holder !== undefined && hasClaims(holder) ? holder : undefined;
    if (claims !== undefined && typeof customerId === 'string' && isClaimed(claims, claimKey(meter.scope, route.reason, customerId))) return undefined;
    const enqueued = meter.enqueue({ customerId: customerId as string, delta: delta as number, reason: route.reason, requestId, metadata: metadata as Record<string, unknown> });
    return enqueued.accepted ? enqueued.committed : undefined;
  }

  /**
   * @internal A resolver threw, returned a Promise, or the request id could not be found: the
   * Meter refuses the delta with the real cause (counted, `onDrop`, `onError`); logged once per
   * route. `err` is used as it is when it already names the field (a DeltaValidationError).
   */
  refuse(route: RouteMetering, field: string, err: unknown, customerId?: unknown): undefined {
    this.warnOnce(`${route.where}:${field}`, messages.resolverFailed(route.where, field, errorText(err)));
    const error = err instanceof DeltaValidationError ? err : new DeltaValidationError(field, `the ${field} resolver threw: ${errorText(err)}`, { cause: err });
    this.runtime.meter.refuse(error, { reason: route.reason, ...(typeof customerId === 'string' ? { customerId } : {}) });
    return undefined;
  }

  private compile(cls: Function, handler: Function): RouteMetering | null {
    const { options } = this.runtime;
    const selected = selectMetered(this.reflector, handler, cls, options.reason);
    if (selected === null) return null;
    const where = describeHandler(cls, handler);
    // @Sse() routes are never metered: an explicit @Metered on one is refused at start-up, and the
    // module default skips them (see the README).
    if (isSseHandler(this.reflector, handler)) {
      if (selected.source !== 'module') this.warnOnce(`${where}:sse`, messages.sseRefused(where));
      return null;
    }
    try {
      return compileRoute(options, selected.options, where, selected.source);
    } catch (err) {
      this.warnOnce(`${where}:config`, messages.routeConfigInvalid(where, errorText(err)));
      return null;
    }
  }

  /** @internal The module's settings, looked up through ModuleRef when they were not injectable here. */
  /**
   * With a durable store the call is accepted when the handler ends the response, before its bytes
   * leave (see `onResponseCompleted`), so a crash after the answer loses nothing.
   */
  protected get acceptAtEnd(): boolean {
    return this.runtime.meter.durable === true;
  }

  protected get runtime(): MeteringRuntime {
    if (this.runtimeRef === undefined) {
      let found: MeteringRuntime | undefined;
      try {
        found = this.moduleRef?.get<MeteringRuntime>(METERING_RUNTIME, { strict: false });
      } catch {
        found = undefined;
      }
      if (found === undefined) throw new MeteringConfigError('MeteringModule', messages.runtimeMissing());
      this.runtimeRef = found;
    }
    return this.runtimeRef;
  }

  protected warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn(message);
  }
}

/** Where `@pacspace-metering/express` keeps the id a request is billed under (in `res.locals`). */
const EXPRESS_REQUEST_ID = Symbol.for('pacspace-metering.request-id');

/** How core qualifies counter ids: `${PROCESS_INSTANCE_ID}-req-1`. */
const PROCESS_QUALIFIER = `${PROCESS_INSTANCE_ID}-`;


/** Marks an argument list whose HTTP call was started and needs no observer. */
const STARTED = true;

/** A call whose handler value or completion an observer still has to report. */
class PendingCall implements MeteredCall {
  result: unknown = undefined;
  observed = false;
  constructor(
    private readonly owner: MeteringEnhancer,
    readonly route: RouteMetering,
    readonly context: ExecutionContext,
    readonly req: unknown,
    readonly requestId: string,
    /** Why the call's id could not be found (`getMessageId` threw): then it is refused, not billed. */
    private readonly idFailure?: unknown,
  ) {}
  bill(): void {
    if (this.idFailure !== undefined) this.owner.refuse(this.route, 'requestId', this.idFailure);
    else this.owner.record(this.route, this.context, this.req, this.requestId, this.result, { handler: this.route.where });
  }
}

function isPlainOrAbsent(value: unknown): boolean {
  if (value === undefined) return true;
  const proto = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  return proto === Object.prototype || proto === null;
}

/** @internal */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Sets the echo header, unless the headers are already out (then there is nothing to echo into). */
function echo(rawRes: ServerResponse, header: string, requestId: string): void {
  try {
    rawRes.setHeader(header, requestId);
  } catch {
    // ERR_HTTP_HEADERS_SENT: the call is still metered.
  }
}
