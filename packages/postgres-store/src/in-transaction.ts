import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` inside `BEGIN ... COMMIT` on one client of the pool: rolled back when `work` (or the
 * commit) throws, and that first error passes on. A ROLLBACK that fails too (a broken connection)
 * never hides it, and the client is then released with its error, so the pool discards it rather
 * than hand a connection in an unknown state to the next caller.
 *
 * @example
 * const moved = await inTransaction(pool, async (client) => (await client.query('DELETE FROM t RETURNING id')).rowCount);
 */
export async function inTransaction<T>(pool: Pick<Pool, 'connect'>, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
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
    client.release(broken);
  }
}
