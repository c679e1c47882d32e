import { messageOf, type PostgresStoreErrorCode } from './errors.js';
import type { OutboxTable } from './outbox-table.js';

/**
 * Reports a problem of the store (its `onError`): the code, what happened, and the error behind it.
 *
 * @example
 * const report: StoreProblem = (code, message) => console.warn(code, message);
 */
export type StoreProblem = (code: Exclude<PostgresStoreErrorCode, 'STORE_INCOMPATIBLE' | 'STORE_NOT_FOUND'>, message: string, cause: unknown) => void;

/**
 * Keeps this instance's leases alive: renews every lease it holds each `leaseMs / 3`, and says so
 * (`STORE_LEASE_LOST`) when a renewal came too late to be sure none was taken over. One renewal at
 * a time: on a database too slow to renew within `leaseMs / 3`, piling renewals on top of each
 * other would only slow it down further. Its timer never keeps the process alive.
 *
 * @example
 * const keeper = new LeaseKeeper(table, 30_000, report);
 * // ... the store runs ...
 * keeper.stop();
 */
export class LeaseKeeper {
  private readonly heartbeat: NodeJS.Timeout;
  private lastRenewedAt = Date.now();
  private renewing = false;
  private stopped = false;

  constructor(
    private readonly table: Pick<OutboxTable, 'renew'>,
    private readonly leaseMs: number,
    private readonly report: StoreProblem,
  ) {
    this.heartbeat = setInterval(() => void this.renew(), Math.floor(leaseMs / 3));
    this.heartbeat.unref();
  }

  /** No more renewals (the store closes and hands its rows back). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
  }

  private async renew(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      await this.renewOnce();
    } finally {
      this.renewing = false;
    }
  }

  private async renewOnce(): Promise<void> {
    const startedAt = Date.now();
    if (startedAt - this.lastRenewedAt > this.leaseMs) {
      this.report('STORE_LEASE_LOST', `this instance renewed its leases ${startedAt - this.lastRenewedAt} ms apart (leaseMs ${this.leaseMs}): another instance may have taken over some of its rows and sent them too (PacSpace counts each once, by its referenceId). The event loop or the database stalled; raise leaseMs if this repeats.`, undefined);
    }
    try {
      await this.table.renew(this.leaseMs);
      this.lastRenewedAt = startedAt;
    } catch (error) {
      if (!this.stopped) this.report('STORE_UNAVAILABLE', `could not renew this instance's leases (${messageOf(error)})`, error);
    }
  }
}
