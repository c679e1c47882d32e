import type { ServerResponse } from 'node:http';
import { Logger, type ExecutionContext, type OnModuleInit } from '@nestjs/common';
import type { ModuleRef, Reflector } from '@nestjs/core';
import { MeteringConfigError } from '@pacspace-metering/core';
import { METERING_RUNTIME } from '../module/metering.constants.js';
import { messages } from '../module/metering.messages.js';
import type { MeteringRuntime } from '../module/metering.providers.js';
import type { RouteMetering } from '../metering/metering.route.js';
import type { CallAdapter } from './call-adapter.js';
import { CallBilling } from '../billing/call-billing.js';
import { httpMetadataOf, mergeMetadata, routePatternOf } from '../billing/call-metadata.js';
import { HttpCallAdapter, isSuccessfulResponse } from '../calls/http-call.js';
import type { HttpObject } from './http-object.js';
import { httpRequestIdOf } from '../calls/http-request-id.js';
import { MessageCallAdapter, messageIdOf } from '../calls/message-call.js';
import { RouteSettings } from './route-settings.js';

export type { HttpObject } from './http-object.js';

/**
 * What {@link MeteringGuard} and {@link MeteringInterceptor} share, as three named extension
 * points: the route settings ({@link routeFor}: which `@Metered` settings a handler has, compiled
 * once), the call adapter ({@link adapterFor}: how an HTTP request or a microservice/gateway
 * message is started and when it counts as done), and the billing call ({@link billing}: resolvers
 * to one delta, enqueued once). Subclass the guard or the interceptor to change a `protected`
 * hook: {@link getRequestId}, {@link getMessageId}, {@link isSuccess}, {@link getRoute},
 * {@link buildMetadata}, or one of the three points whole.
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
  private readonly warned = new Set<string>();
  private runtimeRef: MeteringRuntime | undefined;
  private readonly settings: RouteSettings;
  /** The billing call: resolvers to one delta, enqueued once per request and referenceId. */
  protected readonly billing: CallBilling;
  private readonly http: CallAdapter;
  private readonly messages: CallAdapter;

  protected constructor(
    protected readonly reflector: Reflector,
    runtime: MeteringRuntime | undefined,
    private readonly moduleRef: ModuleRef | undefined,
  ) {
    this.runtimeRef = runtime;
    const warnOnce = (key: string, message: string): void => this.warnOnce(key, message);
    this.settings = new RouteSettings(reflector, () => this.runtime.options, warnOnce);
    this.billing = new CallBilling({ meter: () => this.runtime.meter, buildMetadata: (...args) => this.buildMetadata(...args), warnOnce });
    this.http = new HttpCallAdapter(this.httpHooks());
    this.messages = new MessageCallAdapter({ billing: this.billing, getMessageId: (payload, context) => this.getMessageId(payload, context) });
  }

  /** Fails the bootstrap, rather than the first request, when no MeteringModule is reachable. */
  onModuleInit(): void {
    void this.runtime;
  }

  /** Extension point 1, the route settings: those of the handler `context` is about (cached), or `null` when it is not metered. */
  protected routeFor(context: ExecutionContext): RouteMetering | null {
    return this.settings.of(context);
  }

  /** Extension point 2, the call adapter: HTTP for `http` contexts, the message adapter for `rpc`, `ws` and any other. */
  protected adapterFor(context: ExecutionContext): CallAdapter {
    return context.getType() === 'http' ? this.http : this.messages;
  }

  /**
   * The request id of an HTTP call, per `@pacspace-metering/core`'s `resolveRequestId`: the
   * `requestId` option, then `req.id` (Fastify, pino-http) only with `trustUpstreamId`, then the
   * `requestIdHeader` when one is configured, then a fresh UUID (echoed in `responseHeader`, if set).
   * Behind the Express middleware, the id it chose. A counter id (`req-1`) is qualified with a
   * random id of this application. Throws the error naming `requestId` when the `requestId` option
   * throws or returns a Promise; such a call is refused (counted, reported), not billed.
   */
  protected getRequestId(req: HttpObject, res: HttpObject): string {
    const { options, instanceId } = this.runtime;
    return httpRequestIdOf(options, instanceId, req, res);
  }

  /**
   * The id of a non-HTTP call: the `requestId` option applied to the payload (e.g. a message id),
   * else a fresh UUID. Throws, as {@link getRequestId} does, when the option throws or returns a Promise.
   */
  protected getMessageId(payload: unknown, _context: ExecutionContext): string {
    return messageIdOf(this.runtime.options.requestId, payload);
  }

  /**
   * Whether a finished response is billed: the `isSuccess` option, else a status below 400. An
   * `isSuccess` that throws or returns a Promise bills nothing, and is refused like a resolver.
   */
  protected isSuccess(req: HttpObject, res: HttpObject, rawRes: ServerResponse): boolean {
    return isSuccessfulResponse(this.runtime.options.isSuccess, this.billing, req, res, rawRes);
  }

  /** The route pattern (`/reports/:id`), never the raw URL: Express `req.route.path`, Fastify `request.routeOptions.url`. */
  protected getRoute(req: HttpObject): string | undefined {
    return routePatternOf(req);
  }

  /** What every HTTP delta's metadata starts with: `route` (the pattern) and `method`. */
  protected httpMetadata(req: HttpObject): Record<string, unknown> {
    return httpMetadataOf(this.getRoute(req), req);
  }

  /**
   * The delta's metadata: `base` (route and method, or the handler for non-HTTP calls), then the
   * module's `metadata`, then the route's. A function that throws or returns something other than a
   * plain object refuses the delta.
   */
  protected buildMetadata(route: RouteMetering, context: ExecutionContext, req: unknown, result: unknown, base: Record<string, unknown>): Record<string, unknown> {
    return mergeMetadata(route, context, req, result, base);
  }

  /**
   * With a durable store the call is accepted when the handler ends the response, before its bytes
   * leave (see `onResponseCompleted`), so a crash after the answer loses nothing.
   */
  protected get acceptAtEnd(): boolean {
    return this.runtime.meter.durable === true;
  }

  /** @internal The module's settings, looked up through ModuleRef when they were not injectable here. */
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

  /** The hooks the HTTP adapter calls: this enhancer's extension points, so subclass overrides apply. */
  private httpHooks(): ConstructorParameters<typeof HttpCallAdapter>[0] {
    const enhancer = this;
    return {
      billing: this.billing,
      get options() {
        return enhancer.runtime.options;
      },
      get acceptAtEnd() {
        return enhancer.acceptAtEnd;
      },
      getRequestId: (req, res) => this.getRequestId(req, res),
      isSuccess: (req, res, rawRes) => this.isSuccess(req, res, rawRes),
      httpMetadata: (req) => this.httpMetadata(req),
    };
  }
}
