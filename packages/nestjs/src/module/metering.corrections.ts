import { Inject, Injectable } from '@nestjs/common';
import { correctionOf, type CorrectionInput, type DeliveryReceipt } from '@pacspace-metering/core';
import { METERING_RUNTIME } from './metering.constants.js';
import type { MeteringRuntime } from './metering.providers.js';

/**
 * The billed delta a correction reverses: its referenceId (from the receipt of `meter.emit()`),
 * customer and amount.
 *
 * @example
 * const billed: BilledDelta = { referenceId: receipt.referenceId, customerId: 'acme', delta: -5 };
 * @publicApi
 */
export type BilledDelta = Pick<CorrectionInput, 'referenceId' | 'customerId' | 'delta'>;

/**
 * Reverses billed calls whose work later failed, through PacSpace's `adjusts`: inject it next to
 * the Meter. `reverse()` sends a correction with a referenceId fixed by the billed one
 * (`{referenceId}~reversal`) and waits until PacSpace has it, so calling it again (a retried job, a
 * second error path, a restart) applies it once. Send it once the billed delta was delivered (its
 * `meter.emit()` resolved).
 *
 * @example
 * @Injectable()
 * export class ExportsService {
 *   constructor(@InjectMeter() private readonly meter: Meter, private readonly corrections: MeteringCorrections) {}
 *   async export(customerId: string, jobId: string) {
 *     const billed = await this.meter.emit({ customerId, delta: -10, reason: 'export', requestId: jobId });
 *     try {
 *       return await this.run(jobId);
 *     } catch (err) {
 *       await this.corrections.reverse({ referenceId: billed.referenceId, customerId, delta: -10 });
 *       throw err;
 *     }
 *   }
 * }
 * @publicApi
 */
@Injectable()
export class MeteringCorrections {
  constructor(@Inject(METERING_RUNTIME) private readonly runtime: MeteringRuntime) {}

  /**
   * Sends the correction of `billed` (default: the whole amount back, reason `'correction'`,
   * label `'reversal'`; see `correctionOf` of `@pacspace-metering/core` for `amount`, `reason`,
   * `label`, `metadata`) and resolves with PacSpace's receipt; rejects with the typed error (it
   * can be called again safely).
   */
  reverse(billed: BilledDelta, options: Omit<CorrectionInput, keyof BilledDelta> = {}): Promise<DeliveryReceipt> {
    // Never through an aggregation: a correction names the one delta it adjusts.
    const meter = this.runtime.aggregated?.base ?? this.runtime.meter;
    return meter.emit(correctionOf({ ...options, ...billed }));
  }
}
