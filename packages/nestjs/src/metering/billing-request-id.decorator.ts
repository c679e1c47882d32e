import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { EXPOSES_REQUEST_ID } from '../calls/billed-request-ids.js';
import { BillingRequestIdPipe, type BillingRequestIdSource } from './billing-request-id.pipe.js';

const reflect = Reflect as unknown as { defineMetadata(key: string, value: unknown, target: object): void };

/** What the decorator hands its pipe: the call's objects, for the id to be found or resolved. */
function sourceOf(_data: unknown, context: ExecutionContext): BillingRequestIdSource {
  const type = context.getType();
  return { http: type === 'http', args: context.getArgs() };
}

/** Marks the handler, so the metering guard records the id it bills the call under. */
function markHandler(target: object, key: string | symbol | undefined): void {
  const handler = key === undefined ? undefined : (target as Record<string | symbol, unknown>)[key];
  if (typeof handler === 'function') reflect.defineMetadata(EXPOSES_REQUEST_ID, true, handler);
}

const billingRequestIdParam = createParamDecorator(sourceOf, [markHandler]);

/**
 * Injects the id the call is billed under (or would be, on a `@SkipMetering()` or unmetered route),
 * so handler code that bills by hand builds a deterministic referenceId too: the same id the
 * metering guard used, else the one the module's request-id options give this request (the
 * `requestId` option, a trusted `req.id` or header; a fresh UUID otherwise), echoed in
 * `responseHeader` when the module names one. On microservice handlers: the message id (the
 * `requestId` option on the payload).
 *
 * @example
 * @Post('export') @SkipMetering()
 * export(@BillingRequestId() requestId: string, @Req() req: Request) {
 *   this.meter.enqueue({ customerId: req.user.id, delta: -10, reason: 'export', requestId });
 * }
 * @publicApi
 */
export function BillingRequestId(): ParameterDecorator {
  return billingRequestIdParam(BillingRequestIdPipe);
}
