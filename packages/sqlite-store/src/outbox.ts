import { whyNotReplayed, type DeadLetter, type DeadLetterFilter, type ReplayOptions, type ReplayResult } from '@pacspace-metering/core';
import { hostname } from 'node:os';
import { openStoreDatabase, realStorePath } from './open-database.js';
import { loadNodeSqlite, type SqliteConnection } from './sqlite-driver.js';
import type { StoreOwner } from './store-lock.js';

/**
 * What {@link SqliteOutbox.status} reports about a store file. Every field but `path` and `openBy`
 * means the same in the Postgres outbox's status (`PostgresOutboxStatus`).
 *
 * @example
 * const { pending, oldestPendingAcceptedAt } = outbox.status();
 * const oldestAgeMs = oldestPendingAcceptedAt === null ? 0 : Date.now() - oldestPendingAcceptedAt;
 */
export interface SqliteOutboxStatus {
  /** Absolute path of the file. */
  path: string;
  /** Deltas accepted and not delivered yet (waiting, retrying or in flight when the file was read). */
  pending: number;
  /** Bytes of their bodies. */
  pendingBytes: number;
  /** Epoch ms when the oldest pending delta was accepted, or null when none is pending. */
  oldestPendingAcceptedAt: number | null;
  /** Epoch ms of the earliest next attempt among pending deltas (0 = as soon as a Meter runs), or null. */
  nextDueAt: number | null;
  /**
   * Pending deltas per Meter that accepted them (scope and account; null for rows written before
   * rows recorded one): a Meter delivers only its own, and reports the others it finds.
   */
  byMeter: Array<{ scope: string | null; account: string | null; pending: number }>;
  /** Dead letters held, in total and by reason (`unauthorized`, `rejected`, `integrity`, `max_attempts`, `max_elapsed`, `corrupt`). */
  deadLetters: { total: number; byReason: Record<string, number> };
  /** The process that has the file open, as it recorded itself, or null when it was closed cleanly. */
  openBy: (StoreOwner & { running: boolean | 'unknown' }) | null;
}

/** A dead letter in the file (the shape is core's {@link DeadLetter}, shared with the Postgres outbox). */
export type { DeadLetter };

interface DeadLetterRow {
  id: number;
  reference_id: string;
  customer_id: string;
  reason: string;
  attempts: number;
  first_accepted_at: number;
  accepted_at: number;
  failed_at: number;
  error_code: string | null;
  error_status: number | null;
  error_message: string;
  body: string;
}

/**
 * A store file opened for inspection and maintenance, without taking its lock: reading works
 * while a Meter runs on it (WAL readers never block the writer). What the `pacspace-metering`
 * command (`@pacspace-metering/cli`) uses; handy in health checks too. The Postgres store's
 * `PostgresOutbox` has the same methods (asynchronous there).
 *
 * @example
 * const outbox = SqliteOutbox.open('/var/lib/my-api/metering.db');
 * try {
 *   const { pending, deadLetters } = outbox.status();
 *   if (deadLetters.total > 0) alert(`${deadLetters.total} usage records need attention`);
 * } finally {
 *   outbox.close();
 * }
 */
export class SqliteOutbox {
  private constructor(
    /** Absolute path of the file. */
    readonly path: string,
    private readonly db: SqliteConnection,
  ) {}

  /**
   * Opens an existing store file. Throws `SqliteStoreError` naming the path: `STORE_NOT_FOUND`
   * when there is no file (or an empty database), `STORE_CORRUPT` when it is damaged,
   * `STORE_INCOMPATIBLE` when it is not a store.
   *
   * @param path - the store file.
   * @param options - `checkIntegrity` (default true): run SQLite's `quick_check` first.
   */
  static open(path: string, options: { checkIntegrity?: boolean | undefined } = {}): SqliteOutbox {
    loadNodeSqlite(); // an unsupported Node.js is refused before the file is looked at
    const absolute = realStorePath(path);
    const db = openStoreDatabase(absolute, { create: false, synchronous: 'full', checkIntegrity: options.checkIntegrity ?? true });
    return new SqliteOutbox(absolute, db);
  }

  /** Pending count and age, next attempt, dead letters by reason, and who has the file open. */
  status(): SqliteOutboxStatus {
    const pending = this.db.prepare('SELECT count(*) AS n, COALESCE(sum(bytes), 0) AS bytes, min(first_accepted_at) AS oldest, min(due_at) AS due FROM outbox').get() as { n: number; bytes: number; oldest: number | null; due: number | null };
    const byMeter = (this.db.prepare('SELECT scope, account, count(*) AS n FROM outbox GROUP BY scope, account ORDER BY scope, account').all() as Array<{ scope: string | null; account: string | null; n: number }>)
      .map(({ scope, account, n }) => ({ scope, account, pending: n }));
    const byReason: Record<string, number> = {};
    let total = 0;
    for (const row of this.db.prepare('SELECT reason, count(*) AS n FROM dead_letters GROUP BY reason ORDER BY reason').all() as Array<{ reason: string; n: number }>) {
      byReason[row.reason] = row.n;
      total += row.n;
    }
    const owner = this.db.prepare("SELECT value FROM meta WHERE key = 'owner'").get() as { value: string } | undefined;
    return {
      path: this.path,
      pending: pending.n,
      pendingBytes: pending.bytes,
      oldestPendingAcceptedAt: pending.oldest,
      nextDueAt: pending.due,
      byMeter,
      deadLetters: { total, byReason },
      openBy: owner ? withLiveness(JSON.parse(owner.value) as StoreOwner) : null,
    };
  }

  /** Dead letters matching `filter`, oldest first. */
  deadLetters(filter: DeadLetterFilter = {}): DeadLetter[] {
    const { where, params } = whereClause(filter);
    const rows = this.db.prepare(`SELECT * FROM dead_letters ${where} ORDER BY id`).all(...params) as DeadLetterRow[];
    return rows.map(letterFromRow);
  }

  /**
   * Moves dead letters back to the outbox, so the next Meter that opens the file sends them again
   * with the same frozen body and the same Idempotency-Key (attempts start again from 0, and the
   * retry clock from `now`). A Meter already running on the file does not see them until it is
   * restarted. Each keeps the Meter (scope and account) that accepted it, and only such a Meter
   * sends it; an `unauthorized` letter (its key was refused: no account accepted it) goes to the
   * next Meter of its scope, whatever its key.
   *
   * Skipped, and reported with why:
   * - without a filter, `integrity` letters (409): PacSpace already holds a different delta under
   *   that key, so the same body gets 409 again; and `corrupt` letters (a body that is not its
   *   delta), which a replay sends back to the dead letters. Name them (`reason` or their ids) to
   *   replay them anyway;
   * - letters first accepted longer ago than PacSpace's (assumed 24 h) key lifetime, unless
   *   `allowExpiredKeys`: if such a delta was in fact committed (an answer lost on the way back),
   *   a resend would no longer be recognised and would count twice.
   */
  replay(filter: DeadLetterFilter = {}, options: ReplayOptions = {}): ReplayResult {
    const now = options.now ?? Date.now();
    const move = this.db.prepare(`
      INSERT INTO outbox (id, reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, attempts, due_at, scope, account)
      SELECT id, reference_id, customer_id, body, bytes, first_accepted_at, ?, 0, 0, scope, CASE WHEN reason = 'unauthorized' THEN NULL ELSE account END FROM dead_letters WHERE id = ?`);
    const drop = this.db.prepare('DELETE FROM dead_letters WHERE id = ?');
    const result: ReplayResult = { replayed: [], skipped: [] };
    this.db.transaction(() => {
      for (const letter of this.deadLetters(filter)) {
        const why = whyNotReplayed(letter, filter, now, options);
        if (why !== undefined) result.skipped.push({ letter, why });
        else {
          move.run(now, letter.id);
          drop.run(letter.id);
          result.replayed.push(letter);
        }
      }
    })();
    return result;
  }

  /** Closes the file. */
  close(): void {
    this.db.close();
  }
}

function whereClause(filter: DeadLetterFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.reason !== undefined) {
    clauses.push('reason = ?');
    params.push(filter.reason);
  }
  if (filter.ids !== undefined) {
    clauses.push(`id IN (${filter.ids.map(() => '?').join(', ') || 'NULL'})`);
    params.push(...filter.ids);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function letterFromRow(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    referenceId: row.reference_id,
    customerId: row.customer_id,
    reason: row.reason,
    attempts: row.attempts,
    firstAcceptedAt: row.first_accepted_at,
    acceptedAt: row.accepted_at,
    failedAt: row.failed_at,
    error: { code: row.error_code, status: row.error_status, message: row.error_message },
    body: row.body,
  };
}

/** Whether the recorded owner still runs: knowable only on the same host. */
function withLiveness(owner: StoreOwner): StoreOwner & { running: boolean | 'unknown' } {
  if (owner.host !== hostname()) return { ...owner, running: 'unknown' };
  try {
    process.kill(owner.pid, 0);
    return { ...owner, running: true };
  } catch (err) {
    return { ...owner, running: (err as NodeJS.ErrnoException).code === 'EPERM' };
  }
}
