import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { MeterOptions } from '@pacspace-metering/core';
import { MeteringModule, type MeteringModuleOptions } from '@pacspace-metering/nestjs';
import type { Request } from 'express';
import { ApiKeyGuard, type AuthedRequest } from './auth/api-key.guard.js';
import { BillingStats } from './billing/billing-stats.js';
import { StorageBillingService } from './billing/storage-billing.service.js';
import type { AppConfig } from './config.js';
import { HealthController, PlansController } from './controllers.js';
import { IDEMPOTENCY_KEY, ReportStore } from './reports/report-store.js';
import { ReportsController } from './reports/reports.controller.js';
import { APP_CONFIG, METER_HOOKS } from './tokens.js';

export type MeterHooks = Pick<MeterOptions, 'onDelivered' | 'onRetry' | 'onDrop' | 'onError'>;

/**
 * Billing id of a create that carries an Idempotency-Key: a retry of the same create returns the
 * same report, so it bills under the same referenceId (PacSpace counts it once). Without a key (and
 * for reads) the module uses a fresh UUID per call. Keys are per customer: the customer is part of
 * the referenceId.
 */
export function idempotencyRequestId(req: Request): string | undefined {
  if (req.method !== 'POST') return undefined;
  const key = req.get('idempotency-key');
  return key !== undefined && IDEMPOTENCY_KEY.test(key) ? `idem.${key}` : undefined;
}

/** The Meter's options, built from the app's config (what `forRootAsync` injects). */
export function meteringOptions(config: AppConfig, stats: BillingStats, hooks: MeterHooks): MeteringModuleOptions<AuthedRequest> {
  const tuning = Object.fromEntries(Object.entries(config.meter).filter(([, value]) => value !== undefined));
  return {
    apiKey: config.pacspace.apiKey,
    baseUrl: config.pacspace.baseUrl,
    scope: config.scope,
    ...tuning,
    ...(config.store ? { store: config.store } : {}),
    customerId: (req) => req.account?.customerId,
    requestId: idempotencyRequestId,
    // Echo the id each call is billed under (off by default): clients quote it, and the demo reconciles by it.
    responseHeader: 'x-request-id',
    shutdownTimeoutMs: config.shutdownTimeoutMs,
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
  };
}

/** Configuration, the "database" and the billing counters, for every module. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig, hooks: MeterHooks): DynamicModule {
    return {
      module: CoreModule,
      providers: [{ provide: APP_CONFIG, useValue: config }, { provide: METER_HOOKS, useValue: hooks }, ReportStore, BillingStats],
      exports: [APP_CONFIG, METER_HOOKS, ReportStore, BillingStats],
    };
  }
}

@Module({})
export class AppModule {
  static register(config: AppConfig, hooks: MeterHooks = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, hooks),
        // The module creates the Meter, closes it on application shutdown (after the HTTP server
        // has stopped and every response has finished) and provides it to @InjectMeter().
        MeteringModule.forRootAsync({ inject: [APP_CONFIG, BillingStats, METER_HOOKS], useFactory: meteringOptions }),
      ],
      controllers: [HealthController, PlansController, ReportsController],
      providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }, StorageBillingService],
    };
  }
}
