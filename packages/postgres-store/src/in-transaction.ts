import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` inside `BEGIN ... COMMIT` on one client of the pool and answers what `work`
 * answered. When `work` (or the COMMIT) throws, the transaction is rolled back and that first
 * error is thrown: a ROLLBACK that fails too (the connection broke) never hides it, and the client
 * is then released with its error, so the pool discards it rather than hand a connection in an
 * unknown state to the next caller. A connection that breaks while the client is checked out
 * does not crash the process (pg emits `'error'` on the client then): the statement under way
 * fails with the reason instead.
 *
 * Use it for a business write and its delta in one transaction (see
 * `PostgresStore.enqueueInTransaction`): both, or neither.
 *
 * @param pool - a pg Pool (or anything with `connect()`).
 * @param work - runs on the client, inside the transaction.
 *
 * @example
 * import { inTransaction } from '@pacspace-metering/postgres-store';
 *
 * await inTransaction(pool, async (client) => {
 *   await client.query('INSERT INTO orders (id, customer_id) VALUES ($1, $2)', [orderId, customerId]);
 *   await store.enqueueInTransaction(client, meter, { customerId, delta: -1, reason: 'order_placed', requestId: orderId });
 * }); // committed: the order and its delta, or neither
 */
export async function inTransaction<T>(pool: Pick<Pool, 'connect'>, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const onBroken = (): void => undefined;
  client.on('error', onBroken);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = await client.query('ROLLBACK').then(
      () => undefined,
      (rollbackError: unknown) => (rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))),
    );
    throw error;
  } finally {
    client.off('error', onBroken);
    client.release(broken);
  }
}
