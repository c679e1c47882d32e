import type { QueuedDelta } from '@pacspace-metering/core';
import type { ClientBase } from 'pg';
import { checkSchemaName } from './options.js';
import { tableNames } from './sql-names.js';

/**
 * What a transactional insert wrote: the row id and the delta's referenceId (its Idempotency-Key).
 *
 * @example
 * const { id, referenceId } = await insertPrepared(client, meter.prepare(input));
 */
export interface InsertedDelta {
  /** The outbox row id (also the dead letter's id, should PacSpace refuse it). */
  id: number;
  referenceId: string;
}

/**
 * Inserts a delta frozen by `meter.prepare()` into the outbox with **your** client, inside your
 * transaction: the row exists if and only if your transaction commits. Nobody holds it, so the
 * first instance of that Meter (its scope and account, which `prepare()` records) that polls the
 * outbox (every `pollIntervalMs`) delivers it. (A delta that does not say which Meter froze it is
 * delivered by a Meter of the scope its referenceId starts with.) Use this when the
 * code that writes the business row has no {@link PostgresStore} at hand (a worker, another
 * service on the same database); otherwise `store.enqueueInTransaction(client, meter, input)`.
 *
 * @param client - a pg client on which you ran `BEGIN` (outside a transaction the row is simply committed at once).
 * @param prepared - `meter.prepare(input)`: the frozen body and referenceId.
 * @param options - `schema` of the outbox tables (default `'pacspace_metering'`).
 *
 * @example
 * await client.query('BEGIN');
 * await client.query('UPDATE accounts SET exports = exports + 1 WHERE id = $1', [accountId]);
 * await insertPrepared(client, meter.prepare({ customerId: accountId, delta: -5, reason: 'export', requestId: exportId }));
 * await client.query('COMMIT');
 */
export async function insertPrepared(client: Pick<ClientBase, 'query'>, prepared: QueuedDelta, options: { schema?: string } = {}): Promise<InsertedDelta> {
  const schema = checkSchemaName(options.schema ?? 'pacspace_metering');
  if (prepared === null || typeof prepared !== 'object' || typeof prepared.body !== 'string' || typeof prepared.referenceId !== 'string') {
    throw new TypeError('insertPrepared: prepared must be what meter.prepare(input) returned');
  }
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO ${tableNames(schema).outbox} (reference_id, customer_id, body, bytes, first_accepted_at, accepted_at, attempts, due_at, scope, account)
     VALUES ($1, $2, $3, $4, $5, $5, 0, 0, $6, $7) RETURNING id`,
    [prepared.referenceId, prepared.customerId, prepared.body, prepared.bytes, prepared.acceptedAt, prepared.owner?.scope ?? null, prepared.owner?.account ?? null],
  );
  return { id: Number(rows[0]!.id), referenceId: prepared.referenceId };
}
