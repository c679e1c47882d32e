/**
 * @pacspace-metering/postgres-store: a shared PostgreSQL outbox for the PacSpace Meter. Every
 * instance of an API writes accepted deltas to one table; any live instance delivers them (leases
 * with `FOR UPDATE SKIP LOCKED` that expire, so survivors send what a dead instance left, never
 * two at once); a delta can be written inside your own transaction, billed if and only if it commits.
 *
 * @example
 * import { createMeter } from '@pacspace-metering/core';
 * import { createPostgresStore } from '@pacspace-metering/postgres-store';
 *
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL });
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, store });
 */
export { createPostgresStore, PostgresStore } from './postgres-store.js';
export { insertPrepared } from './transactional.js';
export { inTransaction } from './in-transaction.js';
export type { InsertedDelta } from './transactional.js';
export { migrate, SCHEMA_VERSION } from './schema.js';
export type { MigrationResult } from './schema.js';
export { POSTGRES_STORE_OPTION_NAMES } from './options.js';
export type { PostgresStoreOptions } from './options.js';
export { PostgresStoreError } from './errors.js';
export type { PostgresStoreErrorCode } from './errors.js';
export { PostgresOutbox } from './outbox.js';
export { ASSUMED_KEY_TTL_MS } from '@pacspace-metering/core';
export type { DeadLetterFilter, ReplayOptions, ReplayResult } from '@pacspace-metering/core';
export type { DeadLetter, PostgresOutboxStatus } from './outbox.js';
