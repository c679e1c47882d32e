import type { ExecutionContext } from '@nestjs/common';
import type { MeteredCall } from '../metering/metering.call.js';
import type { RouteMetering } from '../metering/metering.route.js';
import type { CallBilling } from '../billing/call-billing.js';

/** @internal A call whose handler value or completion an observer still has to report. */
export class PendingCall implements MeteredCall {
  result: unknown = undefined;
  observed = false;
  constructor(
    private readonly billing: CallBilling,
    readonly route: RouteMetering,
    readonly context: ExecutionContext,
    readonly req: unknown,
    readonly requestId: string,
    /** Why the call's id could not be found (`getMessageId` threw): then it is refused, not billed. */
    private readonly idFailure?: unknown,
  ) {}

  bill(): void {
    if (this.idFailure !== undefined) this.billing.refuse(this.route, 'requestId', this.idFailure);
    else this.billing.record(this.route, this.context, this.req, this.requestId, this.result, { handler: this.route.where });
  }
}
