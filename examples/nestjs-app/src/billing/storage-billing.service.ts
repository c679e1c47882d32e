import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createPeriodicMeter, type Meter, type PeriodicMeter } from '@pacspace-metering/core';
import { InjectMeter } from '@pacspace-metering/nestjs';
import type { AppConfig } from '../config.js';
import { ReportStore } from '../reports/report-store.js';
import { APP_CONFIG } from '../tokens.js';
import { BillingStats, STORAGE_REASON } from './billing-stats.js';

/**
 * The periodic pattern: every report a customer has stored at the end of a window costs one unit
 * for that window, sent as one batch per window with window-scoped keys (a retry or a restart never
 * bills a window twice). The hybrid pattern: once a month's last window is delivered, the
 * per-request Meter is drained and PacSpace is asked for one checkpoint of the month.
 */
@Injectable()
export class StorageBillingService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly periodic: PeriodicMeter | undefined;
  private readonly shutdownTimeoutMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig, reports: ReportStore, @InjectMeter() meter: Meter, stats: BillingStats) {
    const { storageBilling, pacspace, scope } = config;
    this.shutdownTimeoutMs = config.shutdownTimeoutMs;
    if (storageBilling === false) return;
    this.periodic = createPeriodicMeter({
      apiKey: pacspace.apiKey,
      baseUrl: pacspace.baseUrl,
      scope,
      name: 'storage',
      interval: storageBilling.interval,
      statePath: storageBilling.statePath,
      retry: { baseDelayMs: config.meter.retryBaseDelayMs ?? 1_000, maxDelayMs: config.meter.retryMaxDelayMs ?? 300_000 },
      collect: ({ end }) => [...reports.storedAt(end.getTime())].map(([customerId, stored]) => ({ customerId, delta: -stored, reason: STORAGE_REASON })),
      onWindow: stats.onWindow,
      closePeriods: { drain: [meter] },
      onPeriodClosed: (report) => void stats.checkpoints.push(...report.checkpoints.map((c) => `${report.period}:${c.checkpointId}`)),
    });
  }

  onApplicationBootstrap(): void {
    this.periodic?.start();
  }

  /** A window whose delivery did not finish before shutdown (resumed on the next start), if any. */
  pendingWindow: string | null = null;

  /**
   * Delivers the windows already due (the current, unfinished one is billed by the next start),
   * then stops. A window still undelivered is kept in the state file and resumed on restart.
   */
  async onApplicationShutdown(): Promise<void> {
    if (!this.periodic) return;
    await Promise.race([this.periodic.runDue(), new Promise<void>((resolve) => setTimeout(resolve, this.shutdownTimeoutMs / 2).unref())]);
    await this.periodic.stop();
    this.pendingWindow = (await this.periodic.status()).pending?.key ?? null;
  }
}
