import 'reflect-metadata';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { CloseReport, Meter, MeterStats } from '@pacspace-metering/core';
import { getMeterToken } from '@pacspace-metering/nestjs';
import { AppModule, type MeterHooks } from './app.module.js';
import { BillingStats, type CustomerBilling } from './billing/billing-stats.js';
import { StorageBillingService } from './billing/storage-billing.service.js';
import type { AppConfig } from './config.js';

export { AppModule, idempotencyRequestId } from './app.module.js';
export { BillingStats, PRICES, STORAGE_REASON } from './billing/billing-stats.js';
export { DEMO_API_KEYS, loadConfig, parseApiKeys, type AppConfig } from './config.js';

export interface CreateAppOptions {
  /** Extra Meter hooks (tests). */
  meterHooks?: MeterHooks;
  /** Nest log levels, or false for none. Default: error and warn. */
  logger?: LogLevel[] | false;
}

/** Builds the application (not listening yet): `await app.listen(port, host)`. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<INestApplication> {
  return NestFactory.create(AppModule.register(config, options.meterHooks), { logger: options.logger ?? ['error', 'warn'], abortOnError: false });
}

/** What shutting down reports; main.ts prints it as one JSON line. */
export interface ShutdownReport {
  close: CloseReport;
  stats: MeterStats;
  byCustomer: Record<string, CustomerBilling>;
  /** `pendingWindow`: a window whose delivery did not finish before shutdown (resumed on the next start). */
  storage: { windows: BillingStats['windows']; checkpoints: string[]; pendingWindow: string | null } | null;
}

/**
 * Closes the application: the HTTP server stops accepting and waits for in-flight requests, then
 * the shutdown hooks stop storage billing and close the Meter (delivering what is queued). Resolves
 * with the Meter's close report.
 */
export async function closeApp(app: INestApplication, config: AppConfig): Promise<ShutdownReport> {
  const meter = app.get<Meter>(getMeterToken());
  const stats = app.get(BillingStats);
  const storage = app.get(StorageBillingService);
  await app.close();
  // close() is idempotent: this returns the report of the close the module ran on shutdown.
  const close = await meter.close();
  return {
    close,
    stats: meter.stats(),
    byCustomer: stats.byCustomer,
    storage: config.storageBilling === false ? null : { windows: stats.windows, checkpoints: stats.checkpoints, pendingWindow: storage.pendingWindow },
  };
}
