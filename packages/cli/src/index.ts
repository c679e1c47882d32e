/**
 * @pacspace-metering/cli: the `pacspace-metering` command, which inspects and repairs the outbox
 * of a PacSpace Meter: a SQLite store file (`--sqlite FILE`, `@pacspace-metering/sqlite-store`) or
 * the shared Postgres outbox (`--postgres URL`, `@pacspace-metering/postgres-store`). Each store is
 * an optional peer, loaded from the app's directory when its flag is given.
 *
 * @example
 * // npx -y @pacspace-metering/cli status --sqlite ./metering.db   (in the app's directory)
 * import { runCli } from '@pacspace-metering/cli';
 *
 * process.exitCode = await runCli(['dead-letters', 'list', '--postgres', process.env.DATABASE_URL!]);
 */
export { runCli } from './cli.js';
export { USAGE } from './args.js';
export type { CliIo } from './io.js';
