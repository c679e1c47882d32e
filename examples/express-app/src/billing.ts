// Billing: the Meter (event-driven deltas, one per successful paid call), storage billed per window
// (periodic), and a checkpoint once a month's last window and the Meter's queue are through (hybrid).
import {
  createMeter,
  createPeriodicMeter,
  type CloseReport,
  type DeliveredEvent,
  type DropEvent,
  type Meter,
  type MeterOptions,
  type MeterStats,
  type PeriodicMeter,
  type RetryEvent,
  type WindowReport,
} from '@pacspace-metering/core';
import type { AppConfig } from './config.js';
import type { ReportStore } from './reports.js';

/** The paid operations: reason -> units consumed per successful call. */
export const PRICES = { report_generated: 5, report_viewed: 1, pdf_rendered: 3 } as const;
/** Reason of the per-window storage deltas: one unit per stored report per window. */
export const STORAGE_REASON = 'report_storage';

/** Per-customer delivery counters, fed by the Meter's hooks and printed on shutdown. */
export interface CustomerBilling {
  delivered: number;
  units: number;
  replays: number;
  retries: number;
  dropped: number;
}

export class BillingStats {
  readonly byCustomer: Record<string, CustomerBilling> = {};
  readonly windows: Array<Pick<WindowReport, 'key' | 'items' | 'total' | 'replayed' | 'requests'>> = [];
  readonly checkpoints: string[] = [];

  private customer(id: string | undefined): CustomerBilling {
    const key = id ?? '(unknown)';
    return (this.byCustomer[key] ??= { delivered: 0, units: 0, replays: 0, retries: 0, dropped: 0 });
  }

  readonly onDelivered = (event: DeliveredEvent): void => {
    const row = this.customer(event.customerId);
    row.delivered++;
    if (event.deduplicated) row.replays++;
    else row.units += event.delta;
  };

  readonly onRetry = (event: RetryEvent): void => void this.customer(event.customerId).retries++;
  readonly onDrop = (event: DropEvent): void => void this.customer(event.customerId).dropped++;
  readonly onWindow = (report: WindowReport): void => {
    this.windows.push({ key: report.key, items: report.items, total: report.total, replayed: report.replayed, requests: report.requests });
  };
}

/** What shutting billing down reports; main.ts prints it as one JSON line. */
export interface BillingShutdownReport {
  close: CloseReport;
  stats: MeterStats;
  byCustomer: Record<string, CustomerBilling>;
  /** `pendingWindow`: a window whose delivery did not finish before shutdown (resumed on the next start). */
  storage: { windows: BillingStats['windows']; checkpoints: string[]; pendingWindow: string | null } | null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface Billing {
  meter: Meter;
  storage: PeriodicMeter | undefined;
  stats: BillingStats;
  /** Starts the storage schedule (the Meter needs no start). */
  start(): void;
  /** Stops the storage schedule, then closes the Meter: stops intake and delivers what is queued. */
  close(timeoutMs: number): Promise<BillingShutdownReport>;
}

/**
 * `hooks` lets a test listen to the Meter too (they run after the app's own). Meter options
 * other than the hooks and the tuning in `config.meter` keep their defaults.
 */
export function createBilling(config: AppConfig, reports: ReportStore, hooks: Pick<MeterOptions, 'onDelivered' | 'onRetry' | 'onDrop' | 'onError'> = {}): Billing {
  const stats = new BillingStats();
  const { apiKey, baseUrl } = config.pacspace;
  const tuning = Object.fromEntries(Object.entries(config.meter).filter(([, value]) => value !== undefined));
  const meter = createMeter({
    apiKey,
    baseUrl,
    scope: config.scope,
    ...tuning,
    ...(config.store ? { store: config.store } : {}),
    onDelivered: (event) => {
      stats.onDelivered(event);
      hooks.onDelivered?.(event);
    },
    onRetry: (event) => {
      stats.onRetry(event);
      hooks.onRetry?.(event);
    },
    onDrop: (event) => {
      stats.onDrop(event);
      hooks.onDrop?.(event);
    },
    onError: hooks.onError,
  });

  const storage =
    config.storageBilling === false
      ? undefined
      : createPeriodicMeter({
          apiKey,
          baseUrl,
          scope: config.scope,
          name: 'storage',
          interval: config.storageBilling.interval,
          statePath: config.storageBilling.statePath,
          retry: { baseDelayMs: config.meter.retryBaseDelayMs ?? 1_000, maxDelayMs: config.meter.retryMaxDelayMs ?? 300_000 },
          // Storage at the end of the window: every report stored then costs one unit per window.
          collect: ({ end }) =>
            [...reports.storedAt(end.getTime())].map(([customerId, stored]) => ({ customerId, delta: -stored, reason: STORAGE_REASON })),
          onWindow: stats.onWindow,
          // Hybrid: when a month's last window is delivered, drain the per-request Meter, then ask
          // PacSpace for one checkpoint of the month (idempotent: once per period, across restarts).
          closePeriods: { drain: [meter] },
          onPeriodClosed: (report) => void stats.checkpoints.push(...report.checkpoints.map((c) => `${report.period}:${c.checkpointId}`)),
        });

  return {
    meter,
    storage,
    stats,
    start: () => storage?.start(),
    async close(timeoutMs) {
      let pendingWindow: string | null = null;
      if (storage) {
        // Deliver the windows already due (the current, unfinished one is billed by the next start),
        // then stop. A window still undelivered is kept in the state file and resumed on restart.
        await Promise.race([storage.runDue(), sleep(timeoutMs / 2)]);
        await storage.stop();
        pendingWindow = (await storage.status()).pending?.key ?? null;
      }
      const close = await meter.close({ timeoutMs });
      return {
        close,
        stats: meter.stats(),
        byCustomer: stats.byCustomer,
        storage: storage ? { windows: stats.windows, checkpoints: stats.checkpoints, pendingWindow } : null,
      };
    },
  };
}
