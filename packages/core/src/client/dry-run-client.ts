import type { BalanceClient, BatchDelta, BatchResult } from './client.js';
import { silentLogger, type MeteringLogger } from '../reporting/logger.js';

/**
 * Options of {@link dryRunClient}.
 *
 * @example
 * dryRunClient({ report: (delta) => console.log('would bill', delta) });
 */
export interface DryRunClientOptions {
  /** Told each delta that would have been billed (customer, reason, amount, referenceId). Default: nothing. */
  report?: ((delta: BatchDelta) => void) | undefined;
}

/**
 * The client of a Meter created with `enabled: false`: answers every delta at once as recorded,
 * in-process, with a receipt that says `dryRun: true`. Nothing leaves the process; `report`
 * is told each delta that would have been billed.
 *
 * @example
 * const meter = createMeter({ enabled: false }); // uses dryRunClient(), reporting on stderr
 */
export function dryRunClient(options: DryRunClientOptions = {}): BalanceClient {
  let records = 0;
  const report = options.report;
  const receipt = (delta: BatchDelta | undefined) => {
    if (report !== undefined && delta !== undefined) {
      try {
        report(delta);
      } catch {
        // a failing report must not fail the (pretend) delivery
      }
    }
    return { recordId: `dry_run_${++records}`, status: 'QUEUED', dryRun: true, customerId: delta?.customerId, delta: delta?.delta };
  };
  return {
    balance: {
      emit: async (customerId, delta, reason, emitOptions) => receipt({ customerId, delta, reason, referenceId: emitOptions?.referenceId }),
      emitBatch: async (deltas): Promise<BatchResult> => ({
        totalQueued: deltas.length,
        totalFailed: 0,
        results: deltas.map((d, index) => ({ index, ...receipt(d) })),
      }),
      derive: async (customerId) => ({ customerId, computedBalance: 0, deltasCount: 0, dryRun: true }),
      checkpoint: async (customerId) => ({ checkpointId: `dry_run_checkpoint_${customerId ?? 'all'}`, status: 'QUEUED', dryRun: true }),
    },
  };
}

/**
 * How a Meter with `enabled: false` shows what it would bill: through the caller's logger at info
 * level, or, with the default logger, one line per delta on stderr; nothing with `silentLogger`.
 *
 * @example
 * dryRunClient({ report: dryRunReporter({ logger: pino() }) });
 */
export function dryRunReporter(options: { logger?: MeteringLogger | undefined }): ((delta: BatchDelta) => void) | undefined {
  const { logger } = options;
  if (logger === silentLogger) return undefined;
  if (logger !== undefined) {
    return (d) => logger.info({ customerId: d.customerId, reason: d.reason, delta: d.delta, referenceId: d.referenceId }, 'pacspace-metering (dry run): would bill');
  }
  return (d) => {
    process.stderr.write(`pacspace-metering (dry run): would bill ${d.customerId} ${d.delta} for ${d.reason} (referenceId ${d.referenceId ?? '-'})\n`);
  };
}
