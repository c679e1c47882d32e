import { errorColumns, type QueuedDelta, type StoreIdentity } from '@pacspace-metering/core';
import type { SqliteConnection, SqliteStatement } from './sqlite-driver.js';

type Op = [SqliteStatement, unknown[]];

/**
 * Called when a commit failed: `count` changes were not written.
 *
 * @example
 * new Writer(db, 0, 5, (error, count) => console.error(`${count} changes lost`, error));
 */
export type WriteFailure = (error: unknown, count: number) => void;

/**
 * The write side of the SQLite store (its reads are the `OutboxTable`'s): every change to the
 * outbox, in order, as prepared statements.
 *
 * An accepted delta (`insert`) is committed before `insert` returns when `commitWindowMs` is 0, or
 * within `commitWindowMs` otherwise (group commit); once a commit has failed (a full disk), every
 * insert is committed at once until one succeeds, and `insert` throws while they fail. Everything
 * else (delivered, rescheduled, dead letter) is written behind, within `settleDelayMs`, or with the
 * next insert, in one transaction: losing such a change in a crash only means a delivered delta
 * is sent again with its own key (PacSpace answers with a replay) or a retry comes sooner.
 *
 * @example
 * const writer = new Writer(db, 0, 5, onFailure);
 * writer.insert(item); // committed before it returns
 * writer.delete(item.seq); // committed within 5 ms
 */
export class Writer {
  private readonly insertRow: SqliteStatement;
  private readonly deleteRow: SqliteStatement;
  private readonly updateRow: SqliteStatement;
  private readonly buryRow: SqliteStatement;
  private readonly transaction: (ops: Op[]) => void;
  private ops: Op[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** The last commit failed: inserts are committed (or refused) at once until one succeeds. */
  private failing = false;
  /** The Meter whose rows these are (its scope and account), written on every row. */
  private owner: StoreIdentity | undefined;

  constructor(
    db: SqliteConnection,
    private readonly commitWindowMs: number,
    private readonly settleDelayMs: number,
    private readonly failed: WriteFailure,
  ) {
    this.insertRow = db.prepare('INSERT INTO outbox (id, reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, attempts, due_at, scope, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.deleteRow = db.prepare('DELETE FROM outbox WHERE id = ?');
    this.updateRow = db.prepare('UPDATE outbox SET attempts = ?, due_at = ? WHERE id = ?');
    this.buryRow = db.prepare(`
      INSERT OR REPLACE INTO dead_letters (id, reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, attempts, reason, error_code, error_status, error_message, failed_at, scope, account)
      SELECT ?1, ?2, ?3, ?4, ?5, COALESCE(o.first_accepted_at, ?6), ?6, ?7, ?8, ?9, ?10, ?11, ?12, COALESCE(o.scope, ?13), COALESCE(o.account, ?14)
      FROM (SELECT 1) LEFT JOIN outbox o ON o.id = ?1`);
    this.transaction = db.transaction((ops: Op[]) => {
      for (const [statement, args] of ops) statement.run(...args);
    });
  }

  /** The Meter whose rows these are: every row inserted or buried from now on records it. */
  identify(owner: StoreIdentity): void {
    this.owner = owner;
  }

  /**
   * A newly accepted delta, under its row id `item.seq`, committed within the commit window, or at
   * once (`now`: a delta that memory will not hold, which only the file keeps). Throws what SQLite
   * threw when it is committed at once and fails.
   */
  insert(item: QueuedDelta, now = false): void {
    const { scope = null, account = null } = this.owner ?? {};
    this.ops.push([this.insertRow, [item.seq, item.referenceId, item.customerId, item.body, item.bytes, item.acceptedAt, item.acceptedAt, item.attempts, item.dueAt, scope, account]]);
    if (this.commitWindowMs !== 0 && !this.failing && !now) return this.schedule(this.commitWindowMs);
    const error = this.write();
    if (error !== undefined) throw error;
  }

  /** A delta that left the outbox (delivered, or taken back). */
  delete(id: number): void {
    this.defer([this.deleteRow, [id]]);
  }

  /** A delta waiting for another attempt. */
  reschedule(item: QueuedDelta): void {
    this.defer([this.updateRow, [item.attempts, item.dueAt, item.seq]]);
  }

  /**
   * A delta the meter gave up on: moved to `dead_letters` with the reason and its last error. It
   * keeps the first acceptance time and the Meter (scope, account) of its row; a row already gone
   * gets this Meter's.
   */
  bury(item: QueuedDelta, reason: string, error: unknown, at: number): void {
    const { code, status, message } = errorColumns(error);
    const { seq: id, referenceId, customerId, body, bytes, acceptedAt, attempts } = item;
    const { scope = null, account = null } = this.owner ?? {};
    this.defer([this.buryRow, [id, referenceId, customerId, body, bytes, acceptedAt, attempts, reason, code, status, message, at, scope, account]]);
    this.defer([this.deleteRow, [item.seq]]);
  }

  /** Writes every pending change in one transaction now. Never throws: failures go to `failed`. */
  commit(): void {
    this.write();
  }

  /** {@link commit}, returning what the failed transaction threw (its changes are lost, reported to `failed`). */
  private write(): unknown {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
    }
    if (this.ops.length === 0) return undefined;
    const ops = this.ops;
    this.ops = [];
    try {
      this.transaction(ops);
      this.failing = false;
      return undefined;
    } catch (error) {
      this.failing = true;
      this.failed(error, ops.length);
      return error;
    }
  }

  private defer(op: Op): void {
    this.ops.push(op);
    if (this.settleDelayMs === 0) this.commit();
    else this.schedule(this.settleDelayMs);
  }

  /** Commits at most `delayMs` from now (an earlier commit already scheduled stands). */
  private schedule(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.commit(), delayMs);
  }
}
