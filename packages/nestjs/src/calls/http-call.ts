import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ExecutionContext } from '@nestjs/common';
import { DeltaValidationError, isUnbilledOptionsRequest, onResponseCompleted, thenableError } from '@pacspace-metering/core';
import { CALL } from '../module/metering.constants.js';
import type { ResolvedMeteringOptions } from '../module/metering.options.js';
import type { MeteredCall } from '../metering/metering.call.js';
import type { RouteMetering } from '../metering/metering.route.js';
import type { CallAdapter } from '../enhancer/call-adapter.js';
import type { CallBilling } from '../billing/call-billing.js';
import { errorText } from '../enhancer/error-text.js';
import type { HttpObject } from '../enhancer/http-object.js';
import { PendingCall } from './pending-call.js';
import { billedRequestIds } from './billed-request-ids.js';
import { StreamCall } from './stream-call.js';

/** @internal What the HTTP adapter needs from its enhancer (its extension points among them). */
export interface HttpCallHooks {
  readonly billing: CallBilling;
  readonly options: ResolvedMeteringOptions;
  /** True with a durable store: the call is accepted when the handler ends the response. */
  readonly acceptAtEnd: boolean;
  getRequestId(req: HttpObject, res: HttpObject): string;
  isSuccess(req: HttpObject, res: HttpObject, rawRes: ServerResponse): boolean;
  httpMetadata(req: HttpObject): Record<string, unknown>;
}

/** Marks an argument list whose HTTP call was started and needs no observer. */
const STARTED = true;

/**
 * @internal Meters an HTTP call (Express, or Fastify through `.raw`), unless a guard before this
 * one already did or it is an `OPTIONS` request left unbilled (see core's
 * `isUnbilledOptionsRequest`): resolves the request id, echoes it (when `responseHeader` is set),
 * and registers one `close` listener on the raw response. The call is billed when the response
 * closes after being fully written (`writableFinished`) with a success status; closed before that
 * (client gone) it is an abort and bills nothing. With a durable store it is billed when the
 * handler ends the response.
 *
 * Per request this is one closure and one listener (and a response header, with `responseHeader`),
 * and nothing goes through rxjs. It writes no property on the request or the response (each one
 * measured ~3-4% of a hello-world's throughput, by making Express's own property accesses
 * polymorphic): the claim is kept on the argument list Nest passes to every guard of the call.
 */
export class HttpCallAdapter implements CallAdapter {
  constructor(private readonly hooks: HttpCallHooks) {}

  start(context: ExecutionContext, route: RouteMetering): MeteredCall | undefined {
    const args = context.getArgs() as unknown[] & Record<symbol, unknown>;
    if (args[CALL] !== undefined) return undefined;
    const req = args[0] as HttpObject;
    const { hooks } = this;
    // A CORS preflight is never a billable call, nor (by default) any other OPTIONS request.
    if (isUnbilledOptionsRequest(req as Parameters<typeof isUnbilledOptionsRequest>[0], hooks.options.meterOptionsRequests)) return undefined;
    const res = args[1] as HttpObject;
    const rawRes: ServerResponse & Record<symbol, unknown> = res.raw ?? res;
    let requestId: string;
    try {
      requestId = hooks.getRequestId(req, res);
    } catch (err) {
      return this.startUnidentified(args, rawRes, req, res, route, err);
    }
    const header = hooks.options.responseHeader;
    if (header !== undefined) echo(rawRes, header, requestId);
    if (route.exposesRequestId === true) billedRequestIds.set(rawRes, requestId);
    if (route.stream) return this.startStream(args, rawRes, req, res, route, context, requestId);
    if (!route.needsResult) {
      args[CALL] = STARTED;
      // 'close' follows 'finish' on every response, and is the only event of an aborted one: a
      // single listener, never removed (the response is discarded after it).
      onResponseCompleted(rawRes, hooks.acceptAtEnd, () =>
        hooks.isSuccess(req, res, rawRes) ? hooks.billing.record(route, context, req, requestId, undefined, hooks.httpMetadata(req)) : undefined,
      );
      return undefined;
    }
    // The route's observer (an interceptor, run later with its own argument list) finds the call
    // on the raw response, to hand it the handler's value.
    const call = new PendingCall(hooks.billing, route, context, req, requestId);
    args[CALL] = call;
    rawRes[CALL] = call;
    onResponseCompleted(rawRes, hooks.acceptAtEnd, () =>
      hooks.isSuccess(req, res, rawRes) ? hooks.billing.record(route, context, req, requestId, call.result, hooks.httpMetadata(req)) : undefined,
    );
    return call;
  }

  /**
   * A stream route: its observer counts what is sent; the response's `close` bills it once, as
   * ended (fully written) or aborted (cut by the client).
   */
  private startStream(args: Record<symbol, unknown>, rawRes: ServerResponse & Record<symbol, unknown>, req: HttpObject, res: HttpObject, route: RouteMetering, context: ExecutionContext, requestId: string): StreamCall {
    const { hooks } = this;
    const call = new StreamCall(hooks.billing, route, context, req, requestId, () => hooks.billing.metadataOf(route, context, req, undefined, hooks.httpMetadata(req)));
    args[CALL] = call;
    rawRes[CALL] = call;
    rawRes.on('close', () => call.settle(rawRes, hooks.isSuccess(req, res, rawRes)));
    return call;
  }

  /**
   * A call whose request id could not be found (`getRequestId` threw): echoed (when
   * `responseHeader` is set) under a fresh UUID, and refused if it succeeds, rather than billed
   * under an id nobody chose.
   */
  private startUnidentified(args: Record<symbol, unknown>, rawRes: ServerResponse, req: HttpObject, res: HttpObject, route: RouteMetering, err: unknown): undefined {
    args[CALL] = STARTED;
    const { hooks } = this;
    const header = hooks.options.responseHeader;
    if (header !== undefined) echo(rawRes, header, randomUUID());
    onResponseCompleted(rawRes, hooks.acceptAtEnd, () => {
      if (hooks.isSuccess(req, res, rawRes)) hooks.billing.refuse(route, 'requestId', err);
    });
    return undefined;
  }
}

/**
 * @internal Whether a finished response is billed: `custom` (the `isSuccess` option), else a
 * status below 400. A `custom` that throws or returns a Promise bills nothing and is refused
 * through `billing` (counted, `onDrop`, `onError`; logged once).
 */
export function isSuccessfulResponse(custom: ResolvedMeteringOptions['isSuccess'], billing: CallBilling, req: HttpObject, res: HttpObject, rawRes: ServerResponse): boolean {
  if (custom === undefined) return rawRes.statusCode < 400;
  let answer: unknown;
  try {
    answer = custom(req, res);
  } catch (err) {
    billing.refuseUndecidable(new DeltaValidationError('isSuccess', `the isSuccess option threw: ${errorText(err)}`, { cause: err }));
    return false;
  }
  const refused = thenableError(answer, 'isSuccess');
  if (refused !== undefined) billing.refuseUndecidable(refused);
  return refused === undefined && !!answer;
}

/** Sets the echo header, unless the headers are already out (then there is nothing to echo into). */
function echo(rawRes: ServerResponse, header: string, requestId: string): void {
  try {
    rawRes.setHeader(header, requestId);
  } catch {
    // ERR_HTTP_HEADERS_SENT: the call is still metered.
  }
}
