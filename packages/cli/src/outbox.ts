import type { DeadLetter, ReplayResult } from '@pacspace-metering/sqlite-store';
import type { Filter } from './args.js';

/**
 * What every command needs of an outbox, a SQLite file or a Postgres schema alike: the stores'
 * own maintenance handles (`SqliteOutbox`, `PostgresOutbox`, which share their method names and
 * result shapes), made asynchronous, with the words that differ between the two.
 *
 * @example
 * const outbox = await openOutbox({ kind: 'sqlite', path: 'm.db' }, [process.cwd()]);
 * try {
 *   process.stdout.write((await outbox.describeStatus(Date.now())).text);
 * } finally {
 *   await outbox.close();
 * }
 */
export interface Outbox {
  /** The status as the store reports it (`json`, for `--json`) and as lines for a person (`text`). */
  describeStatus(now: number): Promise<{ json: unknown; text: string }>;
  /** Dead letters matching `filter`, oldest first. */
  deadLetters(filter: Filter): Promise<DeadLetter[]>;
  /** Moves matching dead letters back to pending (the store's rules decide which are skipped). */
  replay(filter: Filter, options: { now: number; allowExpiredKeys: boolean }): Promise<ReplayResult>;
  /** Lines saying who sends replayed letters, and when. */
  whoSendsReplayed(): Promise<string[]>;
  /** Lets go of the file or the connections. */
  close(): Promise<void>;
}

export type { DeadLetter, ReplayResult };
