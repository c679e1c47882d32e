import { Inject, Injectable } from '@nestjs/common';
import { meterOperation, type OperationOptions, type OperationOutcome } from '@pacspace-metering/core';
import { METERING_RUNTIME } from '../module/metering.constants.js';
import type { MeteringRuntime } from '../module/metering.providers.js';

/**
 * Bills work that is not an HTTP request (a microservice message, a queue job, an agent's tool
 * call) through the module's Meter, with core's `meterOperation`: the work runs, and only if it
 * succeeds its deltas are billed under referenceIds built from the required `operationId` (the
 * message or job id), so a message delivered or retried five times bills once; a work that throws
 * bills nothing and its error is rethrown. `metadata.latencyMs` says how long it took. Awaited
 * (`confirm`, the default: resolves once PacSpace has each delta) or fire-and-forget
 * (`confirm: false`). `TResult` types the result in `delta`/`deltas`.
 *
 * @example
 * @Controller()
 * export class RenderController {
 *   constructor(private readonly operations: MeteringOperations) {}
 *   @MessagePattern('render')
 *   async render(@Payload() job: { id: string; accountId: string; doc: string }) {
 *     const { result } = await this.operations.run(
 *       { operationId: job.id, customerId: job.accountId, reason: 'pages_rendered', delta: (r) => -r.pages },
 *       () => this.renderer.render(job.doc),
 *     );
 *     return result;
 *   }
 * }
 * @publicApi
 */
@Injectable()
export class MeteringOperations {
  constructor(@Inject(METERING_RUNTIME) private readonly runtime: MeteringRuntime) {}

  /**
   * Runs `work` and bills it once per `operationId` if it succeeds (see core's `meterOperation`
   * for every option: `reason`/`delta` or `deltas`, `metadata`, `confirm`). Throws a
   * `DeltaValidationError` naming the field, before running the work, when `operationId` or
   * `customerId` is missing.
   */
  run<TResult>(options: OperationOptions<TResult>, work: () => TResult | Promise<TResult>): Promise<OperationOutcome<TResult>> {
    return meterOperation(this.runtime.meter, options, work);
  }
}
