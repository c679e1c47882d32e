import type { Pool } from 'pg';
import { tableNames } from './sql-names.js';

/**
 * The net of the deltas other instances have accepted for `customerId` and not delivered: every
 * outbox row of the customer except those this instance (`owner`) holds under a live lease, which
 * its own Meter already counts. One aggregate, the delta read from each frozen body; there is no
 * index on `customer_id`, so it scans the outbox, which holds only undelivered rows (small, unless
 * PacSpace has been out of reach for a while: see the cost in the README).
 */
export async function undeliveredByOthers(pool: Pool, schema: string, owner: string, customerId: string): Promise<number> {
  const { rows } = await pool.query<{ total: number | null }>(
    `SELECT sum((body::json->>'delta')::float8) AS total FROM ${tableNames(schema).outbox}
     WHERE customer_id = $1 AND (lease_owner IS DISTINCT FROM $2 OR lease_until < clock_timestamp())`,
    [customerId, owner],
  );
  return Number(rows[0]?.total ?? 0);
}
