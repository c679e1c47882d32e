// Configuration from the environment. Everything has a default, so `node dist/main.js` runs as is:
// without PACSPACE_API_KEY the app starts a local PacSpace sandbox (see main.ts).
import type { IntervalSpec, MeterStore } from '@pacspace-metering/core';
import { fileURLToPath } from 'node:url';

/** Who may call the API: API key -> the customer (PacSpace customerId) it bills. */
export type ApiKeys = ReadonlyMap<string, string>;

export interface AppConfig {
  /** Port to listen on (0: any free port). */
  port: number;
  host: string;
  /** First segment of every referenceId this app sends: one per service. */
  scope: string;
  /** PacSpace credentials; no apiKey means "start a local sandbox" (main.ts). */
  pacspace: { apiKey?: string; baseUrl?: string };
  apiKeys: ApiKeys;
  /** Where the Meter keeps accepted deltas: main.ts opens the shared Postgres outbox when METER_POSTGRES_URL is set; otherwise memory. */
  store?: MeterStore;
  /** Meter tuning; unset fields keep the library defaults. */
  meter: { concurrency?: number; retryBaseDelayMs?: number; retryMaxDelayMs?: number };
  /** How long shutdown waits for in-flight requests, then for the Meter to deliver. */
  shutdownTimeoutMs: number;
  /** Storage billed per window (the periodic pattern), or false to turn it off. */
  storageBilling: { interval: IntervalSpec; statePath?: string } | false;
}

/** The keys `main.ts` accepts unless API_KEYS says otherwise. */
export const DEMO_API_KEYS = 'demo_key_acme:acme,demo_key_globex:globex,demo_key_initech:initech,demo_key_umbrella:umbrella';

/** Where storage billing keeps its position by default: in this example's folder, whatever the cwd. */
export const DEFAULT_STATE_PATH = fileURLToPath(new URL('../.pacspace-metering/nestjs-app.storage.json', import.meta.url));

/** Parses `key:customer,key:customer`. */
export function parseApiKeys(value: string): ApiKeys {
  const keys = new Map<string, string>();
  for (const pair of value.split(',')) {
    const [key, customerId] = pair.trim().split(':');
    if (!key || !customerId) throw new Error(`API_KEYS: expected "key:customer,key:customer", got "${pair}"`);
    keys.set(key, customerId);
  }
  return keys;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback?: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}: expected a non-negative integer, got "${raw}"`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const interval = env.STORAGE_BILLING_INTERVAL ?? '1h';
  return {
    port: int(env, 'PORT', 3001)!,
    host: env.HOST ?? '127.0.0.1',
    scope: env.METERING_SCOPE ?? 'nestjs-app',
    pacspace: { apiKey: env.PACSPACE_API_KEY || undefined, baseUrl: env.PACSPACE_BASE_URL || undefined },
    apiKeys: parseApiKeys(env.API_KEYS ?? DEMO_API_KEYS),
    meter: {
      concurrency: int(env, 'METER_CONCURRENCY'),
      retryBaseDelayMs: int(env, 'METER_RETRY_BASE_MS'),
      retryMaxDelayMs: int(env, 'METER_RETRY_MAX_MS'),
    },
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000)!,
    storageBilling: interval === 'off' ? false : { interval: interval as IntervalSpec, statePath: env.STORAGE_BILLING_STATE || DEFAULT_STATE_PATH },
  };
}
