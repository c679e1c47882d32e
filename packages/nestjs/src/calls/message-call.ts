import { randomUUID } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { DeltaValidationError, isAcceptedRequestId, thenableError } from '@pacspace-metering/core';
import { CALL } from '../module/metering.constants.js';
import type { MeteredCall } from '../metering/metering.call.js';
import type { RouteMetering } from '../metering/metering.route.js';
import type { CallAdapter } from '../enhancer/call-adapter.js';
import type { CallBilling } from '../billing/call-billing.js';
import { errorText } from '../enhancer/error-text.js';
import { PendingCall } from './pending-call.js';
import { billedRequestIds } from './billed-request-ids.js';

/** @internal What the message adapter needs from its enhancer. */
export interface MessageCallHooks {
  readonly billing: CallBilling;
  /** The enhancer's `getMessageId` extension point. */
  getMessageId(payload: unknown, context: ExecutionContext): string;
}

/**
 * @internal Meters a non-HTTP call (microservice message, gateway message, ...): the handler's
 * first argument is the `req` the resolvers get; the call is billed by {@link MeteredCall.bill}
 * when an observer sees the handler complete. The claim is kept on Nest's argument list.
 */
export class MessageCallAdapter implements CallAdapter {
  constructor(private readonly hooks: MessageCallHooks) {}

  start(context: ExecutionContext, route: RouteMetering): MeteredCall | undefined {
    const args = context.getArgs() as unknown[] & Record<symbol, unknown>;
    if (args[CALL] !== undefined) return undefined;
    const payload: unknown = args[0];
    let call: PendingCall;
    try {
      call = new PendingCall(this.hooks.billing, route, context, payload, this.hooks.getMessageId(payload, context));
    } catch (err) {
      call = new PendingCall(this.hooks.billing, route, context, payload, randomUUID(), err);
    }
    args[CALL] = call;
    if (route.exposesRequestId === true && payload !== null && typeof payload === 'object') billedRequestIds.set(payload, call.requestId);
    return call;
  }
}

/**
 * @internal The default id of a non-HTTP call: the `requestId` option applied to the payload (a
 * message id, say; a safe integer becomes its decimal string), else a fresh UUID; an id of
 * characters a referenceId cannot hold is replaced by a UUID too. Throws the error naming
 * `requestId` when the option throws or returns a Promise.
 */
export function messageIdOf(requestId: ((payload: any) => unknown) | undefined, payload: unknown): string {
  if (requestId === undefined) return randomUUID();
  let value: unknown;
  try {
    value = requestId(payload);
  } catch (err) {
    throw new DeltaValidationError('requestId', `the requestId resolver threw: ${errorText(err)}`, { cause: err });
  }
  const refused = thenableError(value, 'requestId');
  if (refused !== undefined) throw refused;
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  return isAcceptedRequestId(text) ? text : randomUUID();
}
