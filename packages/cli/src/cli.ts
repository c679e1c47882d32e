import { parseCommandLine, USAGE, UsageError, type Command } from './cli-args.js';
import { runPostgresCommand } from './cli-postgres.js';
import { formatDeadLetters, formatStatus } from './cli-format.js';
import { exportDeadLetters, missingIds, reportReplay } from './cli-output.js';
import { SqliteStoreError } from './errors.js';
import { StoreFile } from './store-file.js';

/**
 * Where the CLI writes, and its clock (for tests).
 *
 * @example
 * runCli(['status', '--store', 'm.db'], { stdout: captured, stderr: captured, now: () => 0 });
 */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  now?: () => number;
}

/**
 * The `pacspace-metering` command line: `status`, `dead-letters list|export|replay`, on a SQLite
 * file (`--store`) or the shared Postgres outbox (`--postgres URL`). Returns the exit code (a
 * Promise of it with `--postgres`): 0 done, 1 the store could not be read or changed, 2 a bad
 * command line (the message names the flag).
 *
 * @example
 * // bin/pacspace-metering.cjs
 * Promise.resolve(require('../dist/cjs/cli.js').runCli(process.argv.slice(2))).then((code) => (process.exitCode = code));
 */
export function runCli(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): number | Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pacspace-metering: ${err.message}\nRun 'pacspace-metering --help' for usage.\n`);
    return 2;
  }
  if (command.name === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const now = (io.now ?? Date.now)();
  if (command.postgres !== undefined) return runPostgresCommand(command, io, now);
  let file: StoreFile | undefined;
  try {
    file = StoreFile.open(command.store);
    return run(command, file, io, now);
  } catch (err) {
    const message = err instanceof SqliteStoreError ? err.message : `pacspace-metering store ${command.store}: ${(err as Error).message}`;
    io.stderr.write(`${message}\n`);
    return 1;
  } finally {
    file?.close();
  }
}

function run(command: Exclude<Command, { name: 'help' }> & { store: string }, file: StoreFile, io: CliIo, now: number): number {
  switch (command.name) {
    case 'status': {
      const status = file.status();
      io.stdout.write(command.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, now));
      return 0;
    }
    case 'list': {
      const letters = file.deadLetters(command);
      io.stdout.write(command.json ? `${JSON.stringify(letters, null, 2)}\n` : formatDeadLetters(letters));
      return missingIds(command.ids, letters, io);
    }
    case 'export': {
      const letters = file.deadLetters(command);
      exportDeadLetters(letters, command.out, io);
      return missingIds(command.ids, letters, io);
    }
    case 'replay': {
      const result = file.replay(command, { now, allowExpiredKeys: command.allowExpiredKeys });
      reportReplay(result, io, () => {
        const owner = file.status().openBy;
        return [
          `The next Meter that opens ${file.path} sends them again, each with its frozen body and Idempotency-Key.\n`,
          ...(owner?.running === true ? [`A Meter is running on this file now (pid ${owner.pid}): it sends them after it is restarted.\n`] : []),
        ];
      });
      return missingIds(command.ids, [...result.replayed, ...result.skipped.map((s) => s.letter)], io);
    }
  }
}
