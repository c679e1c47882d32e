import { Inject, Injectable, Optional, type PipeTransform } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { MeteringConfigError } from '@pacspace-metering/core';
import { billedRequestIds } from '../calls/billed-request-ids.js';
import type { HttpObject } from '../enhancer/http-object.js';
import { httpRequestIdOf } from '../calls/http-request-id.js';
import { messageIdOf } from '../calls/message-call.js';
import { METERING_RUNTIME } from '../module/metering.constants.js';
import { messages } from '../module/metering.messages.js';
import type { MeteringRuntime } from '../module/metering.providers.js';

/** @internal What `@BillingRequestId()` hands its pipe. */
export interface BillingRequestIdSource {
  http: boolean;
  args: unknown[];
}

/**
 * @internal Turns `@BillingRequestId()`'s source into the id: the one the metering guard recorded
 * for this call, else one resolved now with the module's options (and recorded, so two reads of one
 * call agree). A Nest-managed pipe, so it reaches the module's settings.
 */
@Injectable()
export class BillingRequestIdPipe implements PipeTransform<BillingRequestIdSource, string> {
  constructor(
    @Optional() @Inject(METERING_RUNTIME) private runtime?: MeteringRuntime,
    @Optional() private readonly moduleRef?: ModuleRef,
  ) {}

  transform(source: BillingRequestIdSource): string {
    const [first, second] = source.args as [HttpObject, HttpObject];
    const key: object | undefined = source.http ? (second.raw ?? second) : first !== null && typeof first === 'object' ? first : undefined;
    const known = key === undefined ? undefined : billedRequestIds.get(key);
    if (known !== undefined) return known;
    const { options, instanceId } = this.settings();
    const id = source.http ? this.resolveHttp(options, instanceId, first, second) : messageIdOf(options.requestId, first);
    if (key !== undefined) billedRequestIds.set(key, id);
    return id;
  }

  /** An unmetered HTTP call: its id per the module's options (echoed when `responseHeader` names a header, for the client's reference). */
  private resolveHttp(options: MeteringRuntime['options'], instanceId: string, req: HttpObject, res: HttpObject): string {
    const id = httpRequestIdOf(options, instanceId, req, res);
    const raw = res.raw ?? res;
    if (options.responseHeader !== undefined && !raw.headersSent) raw.setHeader(options.responseHeader, id);
    return id;
  }

  private settings(): MeteringRuntime {
    if (this.runtime === undefined) {
      try {
        this.runtime = this.moduleRef?.get<MeteringRuntime>(METERING_RUNTIME, { strict: false });
      } catch {
        this.runtime = undefined;
      }
      if (this.runtime === undefined) throw new MeteringConfigError('MeteringModule', messages.runtimeMissing());
    }
    return this.runtime;
  }
}
