import type { BalanceClient, BatchDelta, BatchResult } from './client.js';

/**
 * The client of a Meter created with `enabled: false`: answers every delta at once as recorded,
 * in-process, with a receipt that says `dryRun: true`. Nothing leaves the process.
 *
 * @example
 * const meter = createMeter({ enabled: false }); // uses dryRunClient()
 */
export function dryRunClient(): BalanceClient {
  let records = 0;
  const receipt = (delta: BatchDelta | undefined) => ({ recordId: `dry_run_${++records}`, status: 'QUEUED', dryRun: true, customerId: delta?.customerId, delta: delta?.delta });
  return {
    balance: {
      emit: async (customerId, delta) => receipt({ customerId, delta, reason: '' }),
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
