import type { Command } from './args.js';
import { formatDeadLetters } from './format.js';
import type { CliIo } from './io.js';
import type { Outbox } from './outbox.js';
import { exportDeadLetters, missingIds, reportReplay } from './output.js';

/**
 * A command the CLI runs on an outbox (anything but `help`).
 *
 * @example
 * const command: OutboxCommand = { name: 'status', target: { kind: 'sqlite', path: 'm.db' }, json: false };
 */
export type OutboxCommand = Exclude<Command, { name: 'help' }>;

/**
 * Runs one command on an open outbox, SQLite file or Postgres schema alike, and answers its exit
 * code: 0 done, 1 an `--id` named no dead letter.
 *
 * @example
 * process.exitCode = await runCommand(command, outbox, io, Date.now());
 */
export async function runCommand(command: OutboxCommand, outbox: Outbox, io: CliIo, now: number): Promise<number> {
  switch (command.name) {
    case 'status': {
      const { json, text } = await outbox.describeStatus(now);
      io.stdout.write(command.json ? `${JSON.stringify(json, null, 2)}\n` : text);
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
      reportReplay(result, io, result.replayed.length > 0 ? await outbox.whoSendsReplayed() : []);
      return missingIds(command.ids, [...result.replayed, ...result.skipped.map((s) => s.letter)], io);
    }
  }
}

