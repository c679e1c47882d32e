import { whyNotReplayed, type DeadLetter, type DeadLetterFilter, type ReplayOptions, type ReplayResult } from '@pacspace-metering/core';
import pg, { type Pool } from 'pg';
import { messageOf, PostgresStoreError } from './errors.js';
import { inTransaction } from './in-transaction.js';
import { checkSchemaName } from './options.js';
import { tableNames, type TableNames } from './sql-names.js';

/**
 * What {@link PostgresOutbox.status} reports. Every field but `schema`, `leasedBy` and `unleased`
 * means the same in the SQLite store's status (`SqliteOutboxStatus`).
 *
 * @example
 * const { pending, unleased } = await outbox.status();
 */
export interface PostgresOutboxStatus {
  /** The schema of the outbox tables. */
  schema: string;
  /** Rows accepted and not delivered yet, on every instance. */
  pending: number;
  /** Bytes of their bodies. */
  pendingBytes: number;
  /** Epoch ms when the oldest pending row was first accepted, or null. */
  oldestPendingAcceptedAt: number | null;
  /** Epoch ms of the earliest next attempt among pending rows (0 = at once), or null. */
  nextDueAt: number | null;
  /** Pending rows held by a live lease, per lease owner (`host:pid:random`). */
  leasedBy: Record<string, number>;
  /** Pending rows nobody holds (or whose lease expired): the next instance of their Meter that polls sends them. */
  unleased: number;
  /**
   * Pending rows per Meter that accepted them (scope and account; null for rows written before
   * rows had an owner): only a Meter with the same scope and account delivers a row.
   */
  byMeter: Array<{ scope: string | null; account: string | null; pending: number }>;
  /** Dead letters, in total and by reason (`unauthorized`, `rejected`, `integrity`, `max_attempts`, `max_elapsed`, `corrupt`). */
  deadLetters: { total: number; byReason: Record<string, number> };
}

/** A dead letter in the shared outbox (core's {@link DeadLetter}, the same shape as the SQLite store's). */
export type { DeadLetter };

interface DeadLetterRow {
  id: string;
  reference_id: string;
  customer_id: string;
  reason: string;
  attempts: number;
  first_accepted_at: string;
  accepted_at: string;
  failed_at: string;
  error_code: string | null;
  error_status: number | null;
  error_message: string;
  body: string;
}

/**
 * The Postgres outbox opened for inspection and maintenance (what the `pacspace-metering` command
 * of `@pacspace-metering/cli` uses; handy in health checks): status, dead letters, replay. Works
 * while instances run: a replayed letter is an unleased row, which the next instance that polls
 * sends. The SQLite store's `SqliteOutbox` has the same methods (synchronous there).
 *
 * @example
 * const outbox = await PostgresOutbox.open({ connectionString: process.env.DATABASE_URL });
 * try {
 *   const { pending, deadLetters } = await outbox.status();
 *   if (deadLetters.total > 0) alert(`${deadLetters.total} usage records need attention`);
 * } finally {
 *   await outbox.close();
 * }
 */
export class PostgresOutbox {
  private readonly t: TableNames;

  private constructor(
    /** The schema of the outbox tables. */
    readonly schema: string,
    private readonly pool: Pool,
    private readonly ownsPool: boolean,
  ) {
    this.t = tableNames(schema);
  }

  /**
   * Connects and checks that the outbox tables exist. Rejects with {@link PostgresStoreError}
   * `STORE_UNAVAILABLE` (cannot connect) or `STORE_NOT_FOUND` (no outbox in that schema).
   *
   * @param options - `connectionString` or `pool`; `schema` (default `'pacspace_metering'`).
   */
  static async open(options: { connectionString?: string | undefined; pool?: Pool | undefined; schema?: string | undefined }): Promise<PostgresOutbox> {
    const schema = checkSchemaName(options.schema ?? 'pacspace_metering');
    const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: 1 });
    const outbox = new PostgresOutbox(schema, pool, options.pool === undefined);
    let found: string | null;
    try {
      found = (await pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [tableNames(schema).outbox])).rows[0]!.t;
    } catch (error) {
      await outbox.close();
      throw new PostgresStoreError('STORE_UNAVAILABLE', schema, `could not query the database (${messageOf(error)})`, { cause: error });
    }
    if (found === null) {
      await outbox.close();
      throw new PostgresStoreError('STORE_NOT_FOUND', schema, 'has no outbox table: no Meter has used this database and schema yet (or give --schema)');
    }
    return outbox;
  }

  /** Pending rows (and who holds them), next attempt, dead letters by reason. */
  async status(): Promise<PostgresOutboxStatus> {
    const { t } = this;
    const pending = (await this.pool.query<{ n: string; bytes: string; oldest: string | null; due: string | null }>(
      `SELECT count(*) AS n, COALESCE(sum(bytes), 0) AS bytes, min(first_accepted_at) AS oldest, min(due_at) AS due FROM ${t.outbox}`,
    )).rows[0]!;
    const leasedBy: Record<string, number> = {};
    let unleased = 0;
    for (const row of (await this.pool.query<{ owner: string | null; n: string }>(
      `SELECT CASE WHEN lease_until > clock_timestamp() THEN lease_owner END AS owner, count(*) AS n FROM ${t.outbox} GROUP BY 1 ORDER BY 1`,
    )).rows) {
      if (row.owner === null) unleased += Number(row.n);
      else leasedBy[row.owner] = Number(row.n);
    }
    const byMeter = (await this.pool.query<{ scope: string | null; account: string | null; n: string }>(
      `SELECT scope, account, count(*) AS n FROM ${t.outbox} GROUP BY 1, 2 ORDER BY 1, 2`,
    )).rows.map((row) => ({ scope: row.scope, account: row.account, pending: Number(row.n) }));
    const byReason: Record<string, number> = {};
    let total = 0;
    for (const row of (await this.pool.query<{ reason: string; n: string }>(`SELECT reason, count(*) AS n FROM ${t.deadLetters} GROUP BY reason ORDER BY reason`)).rows) {
      byReason[row.reason] = Number(row.n);
      total += Number(row.n);
    }
    return {
      schema: this.schema,
      pending: Number(pending.n),
      pendingBytes: Number(pending.bytes),
      oldestPendingAcceptedAt: pending.oldest === null ? null : Number(pending.oldest),
      nextDueAt: pending.due === null ? null : Number(pending.due),
      leasedBy,
      unleased,
      byMeter,
      deadLetters: { total, byReason },
    };
  }

  /** Dead letters matching `filter`, oldest first. */
  async deadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const { where, params } = whereClause(filter);
    const { rows } = await this.pool.query<DeadLetterRow>(`SELECT * FROM ${this.t.deadLetters} ${where} ORDER BY id`, params);
    return rows.map(letterFromRow);
  }

  /**
   * Moves dead letters back to the outbox, unleased and due at once, so the next instance of the
   * Meter that accepted them (scope and account; any Meter of the scope for an `unauthorized`
   * letter, whose key no account accepted) that polls sends them again with the same frozen body and key (attempts from 0). Skipped, with why:
   * without a filter, `integrity` letters (409: PacSpace holds a different delta under that key)
   * and `corrupt` ones (a body that is not its delta) (name them to replay them anyway); letters first accepted more than 24 h ago unless
   * `allowExpiredKeys` (PacSpace may have forgotten the key: a resend of a committed delta would count twice).
   */
  async replay(filter: DeadLetterFilter = {}, options: ReplayOptions = {}): Promise<ReplayResult> {
    const now = options.now ?? Date.now();
    const result: ReplayResult = { replayed: [], skipped: [] };
    await inTransaction(this.pool, async (client) => {
      const { where, params } = whereClause(filter);
      const { rows } = await client.query<DeadLetterRow>(`SELECT * FROM ${this.t.deadLetters} ${where} ORDER BY id FOR UPDATE`, params);
      for (const letter of rows.map(letterFromRow)) {
        const why = whyNotReplayed(letter, filter, now, options);
        if (why !== undefined) result.skipped.push({ letter, why });
        else {
          await client.query(
            `INSERT INTO ${this.t.outbox} (id, reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, attempts, due_at, scope, account)
             SELECT id, reference_id, customer_id, body, bytes, first_accepted_at, $1, 0, 0, scope, CASE WHEN reason = 'unauthorized' THEN NULL ELSE account END
             FROM ${this.t.deadLetters} WHERE id = $2`,
            [now, letter.id],
          );
          await client.query(`DELETE FROM ${this.t.deadLetters} WHERE id = $1`, [letter.id]);
          result.replayed.push(letter);
        }
      }
    });
    return result;
  }

  /** Ends the pool it created (a pool you gave stays open). */
  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
  }
}

function whereClause(filter: DeadLetterFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.reason !== undefined) {
    params.push(filter.reason);
    clauses.push(`reason = $${params.length}`);
  }
  if (filter.ids !== undefined) {
    params.push(filter.ids);
    clauses.push(`id = ANY($${params.length}::bigint[])`);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function letterFromRow(row: DeadLetterRow): DeadLetter {
  return {
    id: Number(row.id),
    referenceId: row.reference_id,
    customerId: row.customer_id,
    reason: row.reason,
    attempts: row.attempts,
    firstAcceptedAt: Number(row.first_accepted_at),
    acceptedAt: Number(row.accepted_at),
    failedAt: Number(row.failed_at),
    error: { code: row.error_code, status: row.error_status, message: row.error_message },
    body: row.body,
  };
}
