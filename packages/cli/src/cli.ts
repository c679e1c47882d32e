import { parseCommandLine, USAGE, UsageError, type Command } from './args.js';
import { runCommand } from './commands.js';
import type { CliIo } from './io.js';
import { openOutbox } from './open-outbox.js';
import type { Outbox } from './outbox.js';

/**
 * The `pacspace-metering` command line: `status`, `dead-letters list|export|replay`, on a SQLite
 * store file (`--sqlite FILE`) or the shared Postgres outbox (`--postgres URL`). Resolves with
 * the exit code: 0 done, 1 the store could not be read or changed (or its package is not
 * installed), 2 a bad command line (the message names the flag). Never rejects.
 *
 * @param argv - the arguments after the command's name.
 * @param io - where it writes (default: the process's stdout and stderr), its clock and where it
 *   loads the store packages from (default: the current directory).
 *
 * @example
 * import { runCli } from '@pacspace-metering/cli';
 *
 * process.exitCode = await runCli(['status', '--sqlite', '/var/lib/my-api/metering.db', '--json']);
 */
export async function runCli(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine([...argv]);
  } catch (err) {
    io.stderr.write(`pacspace-metering: ${(err as Error).message}\n${err instanceof UsageError ? "Run 'pacspace-metering --help' for usage.\n" : ''}`);
    return 2;
  }
  if (command.name === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const now = (io.now ?? Date.now)();
  let outbox: Outbox | undefined;
  try {
    outbox = await openOutbox(command.target, io.searchFrom ?? [process.cwd()]);
    return await runCommand(command, outbox, io, now);
  } catch (err) {
    // The stores' errors name the file or schema ("pacspace-metering store /x.db: ...").
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`${message.startsWith('pacspace-metering') ? message : `pacspace-metering: ${message}`}\n`);
    return 1;
  } finally {
    await outbox?.close().catch(() => undefined);
  }
}
