import type { OutboxStatus, PostgresOutbox } from '@pacspace-metering/postgres-store';
import type { Command } from './cli-args.js';
import { alignFacts, deadLetterFact, formatDeadLetters, meterFacts, pendingFacts } from './cli-format.js';
import { exportDeadLetters, missingIds, reportReplay } from './cli-output.js';
import type { CliIo } from './cli.js';

type PostgresCommand = Exclude<Command, { name: 'help' }> & { postgres: string };

/**
 * The CLI's commands on the shared Postgres outbox (`--postgres URL`): the same as on a SQLite
 * file, through `PostgresOutbox` of `@pacspace-metering/postgres-store`, which must be installed
 * next to this package. Resolves with the exit code: 0 done, 1 the outbox could not be read or changed.
 *
 * @example
 * process.exitCode = await runPostgresCommand({ name: 'status', postgres: 'postgres://localhost/app', json: false }, io, Date.now());
 */
export async function runPostgresCommand(command: PostgresCommand, io: CliIo, now: number): Promise<number> {
  let outbox: PostgresOutbox | undefined;
  try {
    let module: typeof import('@pacspace-metering/postgres-store');
    try {
      module = await import('@pacspace-metering/postgres-store');
    } catch (err) {
      io.stderr.write(`pacspace-metering: --postgres needs @pacspace-metering/postgres-store installed next to this package (npm install @pacspace-metering/postgres-store): ${(err as Error).message}\n`);
      return 1;
    }
    outbox = await module.PostgresOutbox.open({ connectionString: command.postgres, ...(command.schema !== undefined ? { schema: command.schema } : {}) });
    switch (command.name) {
      case 'status': {
        const status = await outbox.status();
        io.stdout.write(command.json ? `${JSON.stringify(status, null, 2)}\n` : formatOutboxStatus(status, now));
        return 0;
      }
      case 'list': {
        const letters = await outbox.deadLetters(command);
        io.stdout.write(command.json ? `${JSON.stringify(letters, null, 2)}\n` : formatDeadLetters(letters));
        return missingIds(command.ids, letters, io);
      }
      case 'export': {
        const letters = await outbox.deadLetters(command);
        exportDeadLetters(letters, command.out, io);
        return missingIds(command.ids, letters, io);
      }
      case 'replay': {
        const result = await outbox.replay(command, { now, allowExpiredKeys: command.allowExpiredKeys });
        reportReplay(result, io, () => ['They are not leased: the next instance that polls the outbox sends them again, each with its frozen body and Idempotency-Key.\n']);
        return missingIds(command.ids, [...result.replayed, ...result.skipped.map((s) => s.letter)], io);
      }
    }
    return 2;
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n`);
    return 1;
  } finally {
    await outbox?.close();
  }
}

/**
 * The `status` report of the Postgres outbox, one fact per line.
 *
 * @example
 * process.stdout.write(formatOutboxStatus(await outbox.status(), Date.now()));
 */
export function formatOutboxStatus(status: OutboxStatus, now: number): string {
  const holders = Object.entries(status.leasedBy).map(([owner, n]) => `${owner} ${n}`);
  return alignFacts([
    ['outbox', `postgres schema ${status.schema}`],
    ...pendingFacts(status, now, 'due now'),
    ['leased by', holders.length === 0 ? 'no live instance' : holders.join(', ')],
    ['unleased', status.unleased === 0 ? '0' : `${status.unleased} (sent by the next instance of their Meter that polls)`],
    ...meterFacts(status.byMeter),
    deadLetterFact(status.deadLetters),
  ]);
}
