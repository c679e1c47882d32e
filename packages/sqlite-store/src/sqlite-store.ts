import { MemoryStore, warnAtMostEveryMinute, type MeterStore, type QueuedDelta } from '@pacspace-metering/core';
import { SqliteStoreError } from './errors.js';
import { Journal } from './journal.js';
import { checkStorePath, openStoreDatabase, realStorePath, storeError } from './open-database.js';
import { resolveSqliteStoreOptions, type SqliteStoreOptions } from './options.js';
import { itemFromRow, type OutboxRow } from './rows.js';
import { loadNodeSqlite, type SqliteConnection } from './sqlite-driver.js';
import { currentOwner, readOwner, StoreLock } from './store-lock.js';

/**
 * Delivered, rescheduled and dead-lettered deltas are written behind by at most this long (or with
 * the next accepted delta). Such a write lost in a crash costs a resend with the same key, never a
 * delta, and batching them keeps one commit per delivery off the event loop.
 */
const SETTLE_DELAY_MS = 5;

/**
 * A durable {@link MeterStore} on SQLite (Node's node:sqlite, WAL mode): every accepted delta is
 * written with its frozen body and Idempotency-Key before `add` returns (or within
 * `commitWindowMs`), so a Meter created on the same file after a crash or restart sends exactly the
 * same requests again and PacSpace counts each delta once. Deltas the meter gives up on are kept in
 * a `dead_letters` table with the reason and their last error, for the `pacspace-metering` CLI.
 *
 * The queue itself is served from memory (the core's {@link MemoryStore}); the file is the journal
 * it is rebuilt from when the store is opened. One process opens a file at a time: a second one is
 * refused with `STORE_LOCKED` (see {@link StoreLock}). Opening fails at once, with a
 * {@link SqliteStoreError} naming the path, for a file that cannot be written, is not a SQLite
 * database, is damaged, or belongs to something else.
 *
 * @example
 * import { createMeter } from '@pacspace-metering/core';
 * import { SqliteStore } from '@pacspace-metering/sqlite-store';
 *
 * const meter = createMeter({ apiKey, store: new SqliteStore({ path: '/var/lib/my-api/metering.db' }) });
 */
export class SqliteStore implements MeterStore {
  /** Always true: accepted deltas survive a crash or restart. */
  readonly durable = true;
  /** The absolute path of the store file. */
  readonly path: string;
  private readonly index = new MemoryStore();
  private readonly db: SqliteConnection;
  private readonly lock: StoreLock;
  private readonly journal: Journal;
  private readonly reportError: (error: SqliteStoreError) => void;
  private lastId: number;
  private open = true;
  private readonly commitOnExit = () => this.journal.commit();

  /**
   * Opens (or creates) the store file and loads the deltas it holds. Throws `MeteringConfigError`
   * naming a bad option, `MeteringError` `UNSUPPORTED_RUNTIME` on a Node.js without node:sqlite,
   * or {@link SqliteStoreError} naming the path.
   *
   * @param options - see {@link SqliteStoreOptions}; defaults: `synchronous` `'normal'`,
   *   `commitWindowMs` 0, `lockTimeoutMs` 0, `checkIntegrity` true.
   */
  constructor(options: SqliteStoreOptions) {
    const config = resolveSqliteStoreOptions(options);
    loadNodeSqlite(); // an unsupported Node.js is refused before the file is touched
    this.path = realStorePath(config.path);
    this.reportError = config.onError ?? warnAtMostEveryMinute();
    checkStorePath(this.path, true);
    this.lock = StoreLock.acquire(this.path, config.lockTimeoutMs, () => readOwner(this.path));
    try {
      this.db = openStoreDatabase(this.path, { create: true, synchronous: config.synchronous, checkIntegrity: config.checkIntegrity });
    } catch (err) {
      this.lock.release();
      throw err;
    }
    try {
      recordOwner(this.db);
      // Rows are loaded as due as they were: a delta leased by a process that died is due again at once.
      for (const row of this.db.prepare('SELECT id, reference_id, customer_id, body, bytes, accepted_at, attempts, due_at FROM outbox ORDER BY id').all() as OutboxRow[]) {
        this.index.add(itemFromRow(row, this.path));
      }
      const max = this.db.prepare('SELECT max(COALESCE((SELECT max(id) FROM outbox), 0), COALESCE((SELECT max(id) FROM dead_letters), 0)) AS id').get() as { id: number };
      this.lastId = max.id;
      this.journal = new Journal(this.db, config.commitWindowMs, SETTLE_DELAY_MS, (error, count) => this.failed(error, count));
    } catch (err) {
      this.db.close();
      this.lock.release();
      throw storeError(err, this.path);
    }
    process.on('exit', this.commitOnExit);
  }

  /**
   * Writes the delta under a new row id (stored in `item.seq`) and queues it. Throws
   * {@link SqliteStoreError} `STORE_WRITE_FAILED` when it cannot be committed (a full disk): the
   * Meter then refuses it as `store_failed`, counted and reported, instead of keeping in memory a
   * delta the file does not have. With `commitWindowMs`, a delta is committed with its window; once
   * a commit has failed, every delta is committed at once, and refused, until a write succeeds.
   */
  add(item: QueuedDelta): void {
    if (!this.open) throw new SqliteStoreError('STORE_WRITE_FAILED', this.path, 'the store is closed; no delta can be added');
    item.seq = this.lastId + 1;
    try {
      this.journal.insert(item);
    } catch (error) {
      throw new SqliteStoreError('STORE_WRITE_FAILED', this.path, `the delta could not be written, so it was not accepted (${messageOf(error)})`, { cause: error });
    }
    this.lastId = item.seq;
    this.index.add(item);
  }

  leaseBatch(now: number, maxCount: number, maxBytes: number, pausedUntil: (customerId: string) => number): QueuedDelta[] {
    return this.index.leaseBatch(now, maxCount, maxBytes, pausedUntil);
  }

  dueCount(now: number): number {
    return this.index.dueCount(now);
  }

  remove(item: QueuedDelta): void {
    this.index.remove(item);
    if (this.open) this.journal.delete(item.seq);
  }

  release(item: QueuedDelta, now: number): void {
    this.index.release(item, now);
    if (this.open) this.journal.reschedule(item);
  }

  /** Moves a leased delta to `dead_letters` with the reason and `error`'s code, status and message. */
  deadLetter(item: QueuedDelta, reason: string, error: Error): void {
    this.index.remove(item);
    if (this.open) this.journal.bury(item, reason, error, Date.now());
  }

  takeWaiting(): QueuedDelta[] {
    const taken = this.index.takeWaiting();
    if (this.open) for (const item of taken) this.journal.delete(item.seq);
    return taken;
  }

  count(): number {
    return this.index.count();
  }

  bytes(): number {
    return this.index.bytes();
  }

  nextDueAt(): number | undefined {
    return this.index.nextDueAt();
  }

  oldestAcceptedAt(): number | undefined {
    return this.index.oldestAcceptedAt();
  }

  list(): QueuedDelta[] {
    return this.index.list();
  }

  /**
   * Commits every change not yet written, now. Only useful with `commitWindowMs` > 0, e.g. to make
   * the deltas accepted so far durable before answering a request that must not be lost.
   *
   * @example
   * const store = createSqliteStore({ path, commitWindowMs: 5 });
   * meter.enqueue(delta);
   * store.commit(); // durable now, not within 5 ms
   */
  commit(): void {
    if (this.open) this.journal.commit();
  }

  /**
   * Writes what is pending, closes the file and lets go of the lock. Idempotent. Deltas still held
   * stay in the file for the next Meter on it; calls that arrive afterwards (answers to requests
   * still in flight) change only memory, so those deltas are sent again next time, with their key.
   */
  close(): void {
    if (!this.open) return;
    this.open = false;
    process.off('exit', this.commitOnExit);
    this.journal.commit();
    try {
      this.db.prepare("DELETE FROM meta WHERE key = 'owner'").run();
    } catch {
      // Only informational; the lock is what keeps other processes out.
    }
    this.db.close();
    this.lock.release();
  }

  private failed(error: unknown, count: number): void {
    const wrapped = new SqliteStoreError(
      'STORE_WRITE_FAILED',
      this.path,
      `${count} change(s) could not be written (${messageOf(error)}). Deltas accepted before stay in memory and are still delivered, but would not survive a crash; new deltas are refused until a write succeeds.`,
      { cause: error },
    );
    try {
      this.reportError(wrapped);
    } catch {
      // A throwing onError must not break delivery.
    }
  }
}

/**
 * Creates a {@link SqliteStore}: a durable outbox for a Meter. Same as `new SqliteStore(options)`.
 *
 * @param options - `path` (required); `synchronous` (default `'normal'`), `commitWindowMs`
 *   (default 0: committed before `enqueue` returns), `lockTimeoutMs` (default 0),
 *   `checkIntegrity` (default true), `onError` (default: a process warning, at most one a minute).
 * @throws MeteringConfigError naming a bad option; {@link SqliteStoreError} naming the path when
 *   the file cannot be written, is not a store, is damaged, or is open in another process.
 *
 * @example
 * import { createMeter } from '@pacspace-metering/core';
 * import { createSqliteStore } from '@pacspace-metering/sqlite-store';
 *
 * const meter = createMeter({
 *   apiKey: process.env.PACSPACE_API_KEY,
 *   store: createSqliteStore({ path: './data/metering.db' }),
 * });
 * // After a crash, a Meter on the same file resends what was pending, with the same keys.
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}

/**
 * Records who has the file open, for `pacspace-metering status`. Only informational (the lock is
 * what keeps other processes out), so a full disk must not stop the store from opening.
 */
function recordOwner(db: SqliteConnection): void {
  try {
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('owner', ?)").run(JSON.stringify(currentOwner()));
  } catch {
    // The status then shows the previous owner, or none.
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

