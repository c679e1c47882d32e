import type { StoreIdentity } from '@pacspace-metering/core';
import type { Pool } from 'pg';
import type { OutboxRow } from './rows.js';
import { tableNames, type TableNames } from './sql-names.js';

/** Rows one renewal statement extends: short enough that a settle waiting for one of them is not held up. */
const RENEW_CHUNK = 500;

/**
 * The statements one store instance runs against the shared `outbox` table, apart from its
 * writes (see `Writer`): lease, renew, hand back, count. Once the Meter is known (`identify`), each
 * one touches only the rows of that Meter: its scope and account, or rows written before rows had
 * an owner (NULL) whose referenceId starts with its scope. Statements that lock several rows lock
 * them in id order, or skip rows another transaction holds, so that no two of them (of this
 * instance or another) ever wait for each other in a cycle. Rows of its scope without an account
 * (a replayed `unauthorized` dead letter: its key was refused, no account accepted it) are its too.
 *
 * @example
 * const table = new OutboxTable(pool, 'pacspace_metering', owner);
 * table.identify({ scope: 'reports-api', account: 'key:3f9a0c1d2b4e5f60' });
 * const rows = await table.lease(Date.now(), 400, 30_000);
 */
export class OutboxTable {
  private readonly t: TableNames;
  private identity: StoreIdentity | undefined;

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly owner: string,
  ) {
    this.t = tableNames(schema);
  }

  /** Who the Meter is: from now on, only its rows are leased and counted. */
  identify(identity: StoreIdentity): void {
    this.identity = identity;
  }

  /**
   * Leases up to `limit` due rows nobody holds (no lease, or an expired one), oldest first, for
   * `leaseMs`. Rows another transaction has locked are skipped, never waited for.
   */
  async lease(now: number, limit: number, leaseMs: number): Promise<OutboxRow[]> {
    const { sql, params } = this.mine(4);
    const { rows } = await this.pool.query<OutboxRow>(
      `UPDATE ${this.t.outbox} o SET lease_owner = $1, lease_until = clock_timestamp() + $2 * interval '1 millisecond'
       WHERE o.id IN (
         SELECT id FROM ${this.t.outbox}
         WHERE due_at <= $3 AND (lease_until IS NULL OR lease_until < clock_timestamp())${sql}
         ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING o.id, o.reference_id, o.customer_id, o.body, o.bytes, o.accepted_at, o.attempts, o.due_at`,
      [this.owner, leaseMs, now, limit, ...params],
    );
    return rows;
  }

  /**
   * Extends every lease this instance holds, a chunk of rows at a time in id order, each chunk its
   * own short statement: a settle waiting for one of those rows waits for one chunk, not for the
   * renewal of thousands. A row a settle or another instance has locked at this moment is skipped
   * (renewed next time, a third of a lease later), so a renewal never waits in a lock cycle.
   */
  async renew(leaseMs: number): Promise<void> {
    for (let after = 0; ;) {
      const { rows } = await this.pool.query<{ id: string }>(
        `UPDATE ${this.t.outbox} SET lease_until = clock_timestamp() + $2 * interval '1 millisecond'
         WHERE id IN (SELECT id FROM ${this.t.outbox} WHERE lease_owner = $1 AND id > $3 ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [this.owner, leaseMs, after, RENEW_CHUNK],
      );
      // SKIP LOCKED fills the chunk from further on: a short chunk is the last.
      if (rows.length < RENEW_CHUNK) return;
      after = Math.max(...rows.map((r) => Number(r.id)));
    }
  }

  /** Clears this instance's leases (it closes): another instance, or the next start, takes the rows at once. Locks them in id order. */
  async handBack(): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.t.outbox} SET lease_owner = NULL, lease_until = NULL
       WHERE id IN (SELECT id FROM ${this.t.outbox} WHERE lease_owner = $1 ORDER BY id FOR UPDATE)`,
      [this.owner],
    );
  }

  /**
   * Due rows of this Meter that nobody holds, what a lease could take now, counted up to `atMost`
   * (a flush needs to know there are some, not to scan a backlog of millions).
   */
  async countLeasable(now: number, atMost: number): Promise<number> {
    const { sql, params } = this.mine(2);
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM (
         SELECT 1 FROM ${this.t.outbox} WHERE due_at <= $1 AND (lease_until IS NULL OR lease_until < clock_timestamp())${sql} LIMIT $2) AS due`,
      [now, atMost, ...params],
    );
    return Number(rows[0]!.n);
  }

  /** Rows of this Meter's scope that another account accepted: this Meter never delivers them. Per account. */
  async otherAccounts(): Promise<Array<{ account: string; rows: number }>> {
    if (this.identity === undefined) return [];
    const { rows } = await this.pool.query<{ account: string; n: string }>(
      `SELECT account, count(*) AS n FROM ${this.t.outbox} WHERE scope = $1 AND account <> $2 GROUP BY account ORDER BY account`,
      [this.identity.scope, this.identity.account],
    );
    return rows.map((r) => ({ account: r.account, rows: Number(r.n) }));
  }

  /** The condition (after `AND`) and parameters (numbered from `after + 1`) that select this Meter's rows; none before `identify`. */
  private mine(after: number): { sql: string; params: string[] } {
    if (this.identity === undefined) return { sql: '', params: [] };
    const scope = `$${after + 1}`;
    const account = `$${after + 2}`;
    return {
      sql: ` AND ((scope = ${scope} AND (account = ${account} OR account IS NULL)) OR (scope IS NULL AND left(reference_id, length(${scope}) + 1) = ${scope} || ':'))`,
      params: [this.identity.scope, this.identity.account],
    };
  }
}
