import { loadStoredDelta, MemoryStore, MeteringConfigError, warnAtMostEveryMinute, type MeterStore, type QueuedDelta, type StoreAttachment, type StoreIdentity, type StoredDeltaRow } from '@pacspace-metering/core';
import { SqliteStoreError, type SqliteStoreErrorCode } from './errors.js';
import { checkStorePath, openStoreDatabase, realStorePath, storeError } from './open-database.js';
import { resolveSqliteStoreOptions, type SqliteStoreOptions } from './options.js';
import { OutboxTable, type OtherMeterRows } from './outbox-table.js';
import { loadNodeSqlite, type SqliteConnection } from './sqlite-driver.js';
import { currentOwner, readOwner, StoreLock } from './store-lock.js';
import { Writer } from './writer.js';

/**
 * Delivered, rescheduled and dead-lettered deltas are written behind by at most this long (or with
 * the next accepted delta). Such a write lost in a crash costs a resend with the same key, never a
 * delta, and batching them keeps one commit per delivery off the event loop.
 */
const SETTLE_DELAY_MS = 5;
/** After a read of the file failed, the rows waiting in it are not read again for this long: a failing disk is not hammered on every call. */
const RETRY_READ_AFTER_MS = 1_000;

/**
 * A durable {@link MeterStore} on SQLite (Node's node:sqlite, WAL mode): every accepted delta is
 * written with its frozen body and Idempotency-Key before `add` returns (or within
 * `commitWindowMs`), so a Meter created on the same file after a crash or restart sends exactly the
 * same requests again and PacSpace counts each delta once. Deltas the meter gives up on are kept in
 * a `dead_letters` table with the reason and their last error, for the `pacspace-metering` CLI.
 *
 * The file is the queue; memory (the core's {@link MemoryStore}) serves a window onto it of at most
 * the Meter's `maxQueueSize` deltas (`maxQueueBytes` bytes). A delta beyond the window is committed
 * at once and stays only in the file until there is room, so a full queue never folds deltas into
 * sums with this store: a crash loses none of them. Each row records the Meter that accepted it
 * (scope and account); a Meter loads only its own, and reports the others (`STORE_FOREIGN_ROWS`).
 * A row whose body is not its delta is never sent: it goes to the dead letters (reason `corrupt`)
 * and is reported (`STORE_CORRUPT`). One process opens a file at a time: a second one is
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
  /** The window onto the queue: deltas loaded (or accepted) into memory, rows up to `watermark`. */
  private index = new MemoryStore();
  /** The highest row id in memory: rows of this Meter above it are the backlog, in the file only. */
  private watermark = 0;
  /** Rows of this Meter above the watermark. */
  private spilled = 0;
  /** The Meter it serves (set by `attach`); until then, every row is its own and memory unbounded. */
  private identity: StoreIdentity | undefined;
  private window = { maxCount: Infinity, maxBytes: Infinity };
  private readonly db: SqliteConnection;
  private readonly lock: StoreLock;
  private readonly table: OutboxTable;
  private readonly writer: Writer;
  private readonly reportError: (error: SqliteStoreError) => void;
  private lastId: number;
  private open = true;
  /** Epoch ms before which the rows waiting in the file are not read again (a read failed). */
  private readAfter = 0;
  private readonly commitOnExit = () => this.writer.commit();

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
      this.table = new OutboxTable(this.db);
      this.lastId = this.table.lastId();
      // What the file holds is loaded as the window has room; only the count is needed now.
      this.spilled = this.table.count();
      this.writer = new Writer(this.db, config.commitWindowMs, SETTLE_DELAY_MS, (error, count) => this.writeFailed(error, count));
    } catch (err) {
      this.db.close();
      this.lock.release();
      throw storeError(err, this.path);
    }
    process.on('exit', this.commitOnExit);
  }

  /**
   * Called by `createMeter`: rows are written with the Meter's scope and account from now on;
   * rows written before rows recorded one are adopted when their referenceId starts with its
   * scope; rows of another Meter stay in the file, undelivered, and are reported
   * (`STORE_FOREIGN_ROWS`); memory holds at most `maxCount` deltas (`maxBytes` bytes), the rest
   * waits in the file. Throws when the store already serves a Meter.
   */
  attach(meter: StoreAttachment): void {
    if (this.identity !== undefined) throw new MeteringConfigError('store', 'this SQLite store already serves another Meter: create one store (and file) per Meter');
    if (!this.open) throw new SqliteStoreError('STORE_WRITE_FAILED', this.path, 'the store is closed');
    const identity: StoreIdentity = Object.freeze({ scope: meter.scope, account: meter.account });
    this.identity = identity;
    this.window = { maxCount: meter.maxCount, maxBytes: meter.maxBytes };
    this.writer.identify(identity);
    this.table.identify(identity);
    try {
      this.table.adoptOwnerless();
    } catch (error) {
      this.failed('STORE_WRITE_FAILED', 'rows that no Meter owns yet could not be adopted', error);
    }
    this.reportOthers(identity);
    // Nothing was leased before a Meter came: what was loaded without knowing it is loaded again.
    this.index = new MemoryStore();
    this.watermark = 0;
    try {
      this.spilled = this.table.count();
    } catch (error) {
      // Unknown: the next load finds out how many there are.
      this.spilled = 1;
      this.failed('STORE_UNAVAILABLE', 'the rows waiting in the file could not be counted', error);
    }
  }

  /**
   * Writes the delta under a new row id (stored in `item.seq`) and queues it; beyond the memory
   * window (or behind rows waiting in the file), it is committed at once and stays in the file
   * until there is room. Throws {@link SqliteStoreError} `STORE_WRITE_FAILED` when it cannot be
   * committed (a full disk): the Meter then refuses it as `store_failed`, counted and reported,
   * instead of keeping in memory a delta the file does not have. With `commitWindowMs`, a delta is
   * committed with its window; once a commit has failed, every delta is committed at once, and
   * refused, until a write succeeds.
   */
  add(item: QueuedDelta): void {
    if (!this.open) throw new SqliteStoreError('STORE_WRITE_FAILED', this.path, 'the store is closed; no delta can be added');
    const { index } = this;
    const beyond = this.spilled > 0 || index.count() >= this.window.maxCount || index.bytes() + item.bytes > this.window.maxBytes;
    item.seq = this.lastId + 1;
    try {
      // Only the file will hold a delta beyond the window: it cannot wait for a commit window.
      this.writer.insert(item, beyond);
    } catch (error) {
      throw new SqliteStoreError('STORE_WRITE_FAILED', this.path, `the delta could not be written, so it was not accepted (${messageOf(error)})`, { cause: error });
    }
    this.lastId = item.seq;
    if (beyond) {
      this.spilled++;
      return;
    }
    index.add(item);
    this.watermark = item.seq;
  }

  leaseBatch(now: number, maxCount: number, maxBytes: number, pausedUntil: (customerId: string) => number): QueuedDelta[] {
    return this.refilled().leaseBatch(now, maxCount, maxBytes, pausedUntil);
  }

  dueCount(now: number): number {
    return this.refilled().dueCount(now);
  }

  remove(item: QueuedDelta): void {
    this.index.remove(item);
    if (this.open) this.writer.delete(item.seq);
  }

  release(item: QueuedDelta, now: number): void {
    this.index.release(item, now);
    if (this.open) this.writer.reschedule(item);
  }

  /** Moves a leased delta to `dead_letters` with the reason and `error`'s code, status and message. */
  deadLetter(item: QueuedDelta, reason: string, error: Error): void {
    this.index.remove(item);
    if (this.open) this.writer.bury(item, reason, error, Date.now());
  }

  takeWaiting(): QueuedDelta[] {
    const taken = this.refilled().takeWaiting();
    if (this.open) for (const item of taken) this.writer.delete(item.seq);
    return taken;
  }

  /** Deltas in memory (the window), leased ones included. */
  count(): number {
    return this.refilled().count();
  }

  bytes(): number {
    return this.refilled().bytes();
  }

  /** Deltas of this Meter in the file beyond the memory window, loaded as room frees. */
  backlog(): number {
    this.refilled();
    return this.spilled;
  }

  nextDueAt(): number | undefined {
    return this.refilled().nextDueAt();
  }

  oldestAcceptedAt(): number | undefined {
    return this.refilled().oldestAcceptedAt();
  }

  list(): QueuedDelta[] {
    return this.refilled().list();
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
    if (this.open) this.writer.commit();
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
    this.writer.commit();
    try {
      this.db.prepare("DELETE FROM meta WHERE key = 'owner'").run();
    } catch {
      // Only informational; the lock is what keeps other processes out.
    }
    this.db.close();
    this.lock.release();
  }

  /**
   * The window, topped up from the file (rows of this Meter above the watermark, oldest first)
   * when it is empty or a useful share of it is free: a quarter, or all the backlog.
   */
  private refilled(): MemoryStore {
    const index = this.index;
    if (this.spilled === 0 || !this.open) return index;
    const room = this.window.maxBytes - index.bytes() < 0 ? 0 : this.window.maxCount - index.count();
    if (room >= Math.min(this.spilled, Math.max(1, Math.floor(this.window.maxCount / 4))) || index.count() === 0) this.loadRows(room);
    return index;
  }

  /**
   * Loads up to `room` rows above the watermark, oldest first, within the window's bytes. Rows are
   * loaded as due as they were: a delta in flight when its process died is due again at once. A
   * read that fails is reported and tried again a second later; memory is still delivered.
   */
  private loadRows(room: number): void {
    if (room <= 0 || this.spilled === 0 || Date.now() < this.readAfter) return;
    const limit = Math.min(room, this.spilled, 10_000);
    let rows: StoredDeltaRow[];
    try {
      rows = this.table.rowsAfter(this.watermark, limit);
    } catch (error) {
      this.readAfter = Date.now() + RETRY_READ_AFTER_MS;
      return this.failed('STORE_UNAVAILABLE', `the rows waiting in the file could not be read (${messageOf(error)}); the deltas in memory are still delivered, and the file is read again in ${RETRY_READ_AFTER_MS} ms`, error);
    }
    const corrupt: string[] = [];
    let full = false;
    for (const row of rows) {
      if (this.index.count() > 0 && this.index.bytes() + row.bytes > this.window.maxBytes) {
        full = true;
        break;
      }
      const { item, problem } = loadStoredDelta(row);
      if (problem === undefined) this.index.add(item);
      else corrupt.push(this.bury(item, problem));
      this.watermark = row.id;
      this.spilled--;
    }
    // Fewer rows than counted: some left the file meanwhile (a CLI replay changes ids only upwards).
    if (!full && rows.length < limit) this.spilled = 0;
    if (corrupt.length > 0) this.failed('STORE_CORRUPT', `${corrupt.join('; ')}: moved to the dead letters (reason corrupt), never sent. Inspect them with: pacspace-metering dead-letters list --sqlite ${this.path} --reason corrupt`, undefined);
  }

  /** A row whose body is not its delta, moved to the dead letters; answers what to report of it. */
  private bury(item: QueuedDelta, problem: string): string {
    const what = `outbox row ${item.seq} holds ${problem}`;
    this.writer.bury(item, 'corrupt', new SqliteStoreError('STORE_CORRUPT', this.path, what), Date.now());
    return what;
  }

  /** Reports, once at start, the rows of other Meters the file holds: this one never delivers them. */
  private reportOthers(identity: StoreIdentity): void {
    let others: OtherMeterRows[];
    try {
      others = this.table.otherMeters();
    } catch (error) {
      return this.failed('STORE_UNAVAILABLE', 'the file could not be checked for rows of other Meters', error);
    }
    if (others.length === 0) return;
    const total = others.reduce((n, o) => n + o.rows, 0);
    const sameScope = others.find((o) => o.scope === identity.scope);
    const remedy = sameScope
      ? ` If account ${sameScope.account} is the same PacSpace account with a new API key, give this Meter the option account: '${sameScope.account}' to deliver them.`
      : '';
    this.failed(
      'STORE_FOREIGN_ROWS',
      `holds ${total} undelivered delta(s) accepted by another Meter (${others.map((o) => `${o.scope ?? '(no scope)'} ${o.account ?? ''}: ${o.rows}`.replace(' :', ':')).join(', ')}), not by this one (scope ${identity.scope}, account ${identity.account}): they stay in the file and are not delivered with this key. A Meter with that scope and account delivers them.${remedy}`,
      undefined,
    );
  }

  private writeFailed(error: unknown, count: number): void {
    this.failed('STORE_WRITE_FAILED', `${count} change(s) could not be written (${messageOf(error)}). Deltas accepted before stay in memory and are still delivered, but would not survive a crash; new deltas are refused until a write succeeds.`, error);
  }

  /** Reports `message`; with a `cause`, its message is added unless `message` already says it. */
  private failed(code: SqliteStoreErrorCode, message: string, cause: unknown): void {
    const text = cause === undefined || message.includes(messageOf(cause)) ? message : `${message} (${messageOf(cause)})`;
    this.report(new SqliteStoreError(code, this.path, text, cause === undefined ? undefined : { cause }));
  }

  private report(error: SqliteStoreError): void {
    try {
      this.reportError(error);
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

