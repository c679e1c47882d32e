import type { DeliveryMode } from './batch.js';

/** The longest wait between two tries of the batch endpoint (unless `retryMaxDelayMs` is longer). */
const MAX_PROBE_DELAY_MS = 3_600_000;

/**
 * Which endpoint new requests use. A batching Meter that PacSpace tells (in its own JSON answer)
 * that the batch endpoint does not exist delivers one delta per request, and tries batches again
 * after `firstProbeDelayMs`: if PacSpace says it again, single delivery lasts twice as long before
 * the next try (up to an hour); once a batch is answered, the wait starts over. A Meter configured
 * for single delivery stays there.
 *
 * @example
 * const modes = new DeliveryModeSwitch('batch', 60_000);
 * modes.noBatchEndpoint(Date.now()); // -> 60000: single delivery for a minute
 * modes.modeAt(Date.now() + 60_000); // -> 'batch' (the probe)
 */
export class DeliveryModeSwitch {
  private mode: DeliveryMode;
  private probeAt = Infinity;
  private misses = 0;

  constructor(
    private readonly configured: DeliveryMode,
    private readonly firstProbeDelayMs: number,
  ) {
    this.mode = configured;
  }

  /** The mode now, without switching. */
  get current(): DeliveryMode {
    return this.mode;
  }

  /** The mode for a request formed at `at`: batches again once the probe is due. */
  modeAt(at: number): DeliveryMode {
    if (this.mode === 'single' && at >= this.probeAt) {
      this.mode = 'batch';
      this.probeAt = Infinity;
    }
    return this.mode;
  }

  /** PacSpace answered that the batch endpoint does not exist: single delivery, for how many ms (undefined when already single). */
  noBatchEndpoint(at: number): number | undefined {
    if (this.mode === 'single' || this.configured === 'single') return undefined;
    this.mode = 'single';
    const delayMs = Math.min(this.firstProbeDelayMs * 2 ** this.misses++, Math.max(MAX_PROBE_DELAY_MS, this.firstProbeDelayMs));
    this.probeAt = at + delayMs;
    return delayMs;
  }

  /** The batch endpoint answered a batch: a later miss waits from the start again. */
  batchAnswered(): void {
    this.misses = 0;
  }
}
