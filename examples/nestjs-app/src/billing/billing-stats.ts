import { Injectable } from '@nestjs/common';
import type { DeliveredEvent, DropEvent, RetryEvent, WindowReport } from '@pacspace-metering/core';

/** The paid operations: reason -> units consumed per successful call. */
export const PRICES = { report_generated: 5, report_viewed: 1, pdf_rendered: 3 } as const;
/** Reason of the per-window storage deltas: one unit per stored report per window. */
export const STORAGE_REASON = 'report_storage';

/** Per-customer delivery counters. */
export interface CustomerBilling {
  delivered: number;
  units: number;
  replays: number;
  retries: number;
  dropped: number;
}

/** Fed by the Meter's hooks and the storage meter's `onWindow`; printed on shutdown. */
@Injectable()
export class BillingStats {
  readonly byCustomer: Record<string, CustomerBilling> = {};
  readonly windows: Array<Pick<WindowReport, 'key' | 'items' | 'total' | 'replayed' | 'requests'>> = [];
  readonly checkpoints: string[] = [];

  private customer(id: string | undefined): CustomerBilling {
    return (this.byCustomer[id ?? '(unknown)'] ??= { delivered: 0, units: 0, replays: 0, retries: 0, dropped: 0 });
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
