import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` inside `BEGIN ... COMMIT` on one client of the pool: rolled back when `work` (or the
 * commit) throws, and the error passes on; the client is released either way.
 *
 * @example
 * const moved = await inTransaction(pool, async (client) => (await client.query('DELETE FROM t RETURNING id')).rowCount);
 */
export async function inTransaction<T>(pool: Pick<Pool, 'connect'>, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
