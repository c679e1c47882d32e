import type * as SqliteStorePackage from '@pacspace-metering/sqlite-store';
import type { SqliteOutboxStatus } from '@pacspace-metering/sqlite-store';
import { alignFacts, deadLetterFact, iso, meterFacts, pendingFacts } from './format.js';
import type { Outbox } from './outbox.js';
import { loadStorePackage } from './store-package.js';

/**
 * A SQLite store file as the commands' {@link Outbox}, through `SqliteOutbox` of
 * `@pacspace-metering/sqlite-store` (loaded from `searchFrom`). Throws the store's error naming
 * the file when it is missing, damaged or not a store.
 *
 * @example
 * const outbox = openSqliteOutbox('/var/lib/my-api/metering.db', [process.cwd()]);
 */
export function openSqliteOutbox(path: string, searchFrom: readonly string[]): Outbox {
  const { SqliteOutbox } = loadStorePackage<typeof SqliteStorePackage>('@pacspace-metering/sqlite-store', '--sqlite', searchFrom);
  const file = SqliteOutbox.open(path);
  return {
    describeStatus: async (now) => {
      const status = file.status();
      return { json: status, text: formatSqliteStatus(status, now) };
    },
    deadLetters: async (filter) => file.deadLetters(filter),
    replay: async (filter, options) => file.replay(filter, options),
    whoSendsReplayed: async () => {
      const owner = file.status().openBy;
      return [
        `The next Meter that opens ${file.path} sends them again, each with its frozen body and Idempotency-Key.\n`,
        ...(owner?.running === true ? [`A Meter is running on this file now (pid ${owner.pid}): it sends them after it is restarted.\n`] : []),
      ];
    },
    close: async () => file.close(),
  };
}

/**
 * The `status` report of a SQLite file, one fact per line.
 *
 * @example
 * process.stdout.write(formatSqliteStatus(outbox.status(), Date.now()));
 */
export function formatSqliteStatus(status: SqliteOutboxStatus, now: number): string {
  return alignFacts([
    ['store', status.path],
    ...pendingFacts(status, now, 'due now (sent as soon as a Meter runs on this file)'),
    ...meterFacts(status.byMeter),
    deadLetterFact(status.deadLetters),
    ['open by', formatOwner(status.openBy)],
  ]);
}

function formatOwner(owner: SqliteOutboxStatus['openBy']): string {
  if (!owner) return 'nobody (closed cleanly)';
  const who = `pid ${owner.pid} on ${owner.host} since ${iso(owner.since)}`;
  if (owner.running === true) return `${who} (running)`;
  if (owner.running === 'unknown') return `${who} (another host: cannot tell whether it still runs)`;
  return `${who} (no longer running: it stopped without closing the store; the next Meter on this file resends what was in flight)`;
}
