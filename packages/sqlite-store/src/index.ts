/**
 * @pacspace-metering/sqlite-store: a durable SQLite outbox for the PacSpace Meter. Accepted deltas
 * survive crashes and restarts with their frozen bodies and keys; deltas the meter gives up on are
 * kept as dead letters, which {@link SqliteOutbox} (and the `pacspace-metering` command of
 * `@pacspace-metering/cli`) lists, exports and replays.
 *
 * @example
 * import { createMeter } from '@pacspace-metering/core';
 * import { createSqliteStore } from '@pacspace-metering/sqlite-store';
 *
 * const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, store: createSqliteStore({ path: './metering.db' }) });
 */
export { createSqliteStore, SqliteStore } from './sqlite-store.js';
export { SQLITE_STORE_OPTION_NAMES } from './options.js';
export type { SqliteStoreOptions } from './options.js';
export { SqliteStoreError } from './errors.js';
export type { SqliteStoreErrorCode } from './errors.js';
export { SqliteOutbox } from './outbox.js';
export { ASSUMED_KEY_TTL_MS } from '@pacspace-metering/core';
export type { DeadLetterFilter, ReplayOptions, ReplayResult } from '@pacspace-metering/core';
export type { DeadLetter, SqliteOutboxStatus } from './outbox.js';
export type { StoreOwner } from './store-lock.js';
