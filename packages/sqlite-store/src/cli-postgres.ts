import type { OutboxStatus, PostgresOutbox } from '@pacspace-metering/postgres-store';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Command } from './cli-args.js';
import { deadLetterJsonLine, formatAge, formatDeadLetters } from './cli-format.js';
import type { CliIo } from './cli.js';

type PostgresCommand = Exclude<Command, { name: 'help' }> & { postgres: string };

const iso = (ms: number) => new Date(ms).toISOString();

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
        if (command.out === undefined) for (const letter of letters) io.stdout.write(deadLetterJsonLine(letter));
        else {
          const fd = openSync(command.out, 'w');
          try {
            for (const letter of letters) writeSync(fd, deadLetterJsonLine(letter));
          } finally {
            closeSync(fd);
          }
          io.stderr.write(`exported ${letters.length} dead letter(s) to ${command.out}\n`);
        }
        return missingIds(command.ids, letters, io);
      }
      case 'replay': {
        const { replayed, skipped } = await outbox.replay(command, { now, allowExpiredKeys: command.allowExpiredKeys });
        if (replayed.length === 0) io.stdout.write('no dead letter was moved back to pending\n');
        else {
          io.stdout.write(`moved ${replayed.length} dead letter(s) back to pending (ids ${replayed.map((l) => l.id).join(', ')}).\n`);
          io.stdout.write('They are not leased: the next instance that polls the outbox sends them again, each with its frozen body and Idempotency-Key.\n');
        }
        for (const { letter, why } of skipped) io.stdout.write(`skipped ${letter.id} (${letter.reason}, ${letter.referenceId}): ${why}\n`);
        return missingIds(command.ids, [...replayed, ...skipped.map((s) => s.letter)], io);
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
  const lines: Array<[string, string]> = [['outbox', `postgres schema ${status.schema}`]];
  if (status.pending === 0) lines.push(['pending', '0']);
  else {
    const oldest = status.oldestPendingAcceptedAt ?? now;
    lines.push(['pending', `${status.pending} (${status.pendingBytes} bytes)`]);
    lines.push(['oldest pending', `${formatAge(now - oldest)} old (accepted ${iso(oldest)})`]);
    const due = status.nextDueAt ?? 0;
    lines.push(['next attempt', due <= now ? 'due now' : `in ${formatAge(due - now)} (${iso(due)})`]);
  }
  const holders = Object.entries(status.leasedBy).map(([owner, n]) => `${owner} ${n}`);
  lines.push(['leased by', holders.length === 0 ? 'no live instance' : holders.join(', ')]);
  lines.push(['unleased', status.unleased === 0 ? '0' : `${status.unleased} (sent by the next instance that polls)`]);
  const reasons = Object.entries(status.deadLetters.byReason).map(([reason, n]) => `${reason} ${n}`);
  lines.push(['dead letters', status.deadLetters.total === 0 ? '0' : `${status.deadLetters.total} (${reasons.join(', ')})`]);
  const width = Math.max(...lines.map(([label]) => label.length)) + 2;
  return lines.map(([label, value]) => `${label.padEnd(width)}${value}\n`).join('');
}

function missingIds(ids: number[] | undefined, found: Array<{ id: number }>, io: CliIo): number {
  const missing = (ids ?? []).filter((id) => !found.some((l) => l.id === id));
  if (missing.length === 0) return 0;
  io.stderr.write(`no dead letter with id ${missing.join(', ')}${found.length ? '' : ' (or it does not match --reason)'}\n`);
  return 1;
}
