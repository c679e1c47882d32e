import type { Target } from './args.js';
import type { Outbox } from './outbox.js';
import { openPostgresOutbox } from './postgres-outbox.js';
import { openSqliteOutbox } from './sqlite-outbox.js';

/**
 * Opens the outbox a command names (`--sqlite FILE` or `--postgres URL`), loading its store
 * package from the first of `searchFrom` that has it.
 *
 * @example
 * const outbox = await openOutbox({ kind: 'postgres', url: process.env.DATABASE_URL! }, [process.cwd()]);
 */
export async function openOutbox(target: Target, searchFrom: readonly string[]): Promise<Outbox> {
  return target.kind === 'sqlite' ? openSqliteOutbox(target.path, searchFrom) : openPostgresOutbox(target.url, target.schema, searchFrom);
}
