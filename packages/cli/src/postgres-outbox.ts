import type * as PostgresStorePackage from '@pacspace-metering/postgres-store';
import type { PostgresOutboxStatus } from '@pacspace-metering/postgres-store';
import { alignFacts, deadLetterFact, meterFacts, pendingFacts } from './format.js';
import type { Outbox } from './outbox.js';
import { loadStorePackage } from './store-package.js';

/**
 * The shared Postgres outbox as the commands' {@link Outbox}, through `PostgresOutbox` of
 * `@pacspace-metering/postgres-store` (loaded from `searchFrom`). Rejects with the store's error
 * naming the schema when the database cannot be reached or holds no outbox there.
 *
 * @example
 * const outbox = await openPostgresOutbox('postgres://localhost/app', undefined, [process.cwd()]);
 */
export async function openPostgresOutbox(url: string, schema: string | undefined, searchFrom: readonly string[]): Promise<Outbox> {
  const { PostgresOutbox } = loadStorePackage<typeof PostgresStorePackage>('@pacspace-metering/postgres-store', '--postgres', searchFrom);
  const outbox = await PostgresOutbox.open({ connectionString: url, ...(schema !== undefined ? { schema } : {}) });
  return {
    describeStatus: async (now) => {
      const status = await outbox.status();
      return { json: status, text: formatPostgresStatus(status, now) };
    },
    deadLetters: (filter) => outbox.deadLetters(filter),
    replay: (filter, options) => outbox.replay(filter, options),
    whoSendsReplayed: async () => ['They are not leased: the next instance of their Meter that polls the outbox sends them again, each with its frozen body and Idempotency-Key.\n'],
    close: () => outbox.close(),
  };
}

/**
 * The `status` report of the Postgres outbox, one fact per line.
 *
 * @example
 * process.stdout.write(formatPostgresStatus(await outbox.status(), Date.now()));
 */
export function formatPostgresStatus(status: PostgresOutboxStatus, now: number): string {
  const holders = Object.entries(status.leasedBy).map(([owner, n]) => `${owner} ${n}`);
  return alignFacts([
    ['outbox', `postgres schema ${status.schema}`],
    ...pendingFacts(status, now, 'due now'),
    ['leased by', holders.length === 0 ? 'no live instance' : holders.join(', ')],
    ['unleased', status.unleased === 0 ? '0' : `${status.unleased} (sent by the next instance of their Meter that polls)`],
    ...meterFacts(status.byMeter),
    deadLetterFact(status.deadLetters),
  ]);
}
