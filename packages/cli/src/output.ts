import { closeSync, openSync, writeSync } from 'node:fs';
import { deadLetterJsonLine } from './format.js';
import type { CliIo } from './io.js';
import type { DeadLetter, ReplayResult } from './outbox.js';

/**
 * `dead-letters export`: one JSONL line per letter to stdout, or to the file `out` (then a count on
 * stderr, so stdout stays clean). Same for a SQLite file and the Postgres outbox.
 *
 * @example
 * exportDeadLetters(await outbox.deadLetters({}), 'letters.jsonl', io);
 */
export function exportDeadLetters(letters: DeadLetter[], out: string | undefined, io: CliIo): void {
  if (out === undefined) {
    for (const letter of letters) io.stdout.write(deadLetterJsonLine(letter));
    return;
  }
  const fd = openSync(out, 'w');
  try {
    for (const letter of letters) writeSync(fd, deadLetterJsonLine(letter));
  } finally {
    closeSync(fd);
  }
  io.stderr.write(`exported ${letters.length} dead letter(s) to ${out}\n`);
}

/**
 * `dead-letters replay`'s report: what moved back to pending, then `whatNext` (lines on who sends
 * them, written only when something moved), then each skipped letter with why.
 *
 * @example
 * reportReplay(await outbox.replay({}, { now, allowExpiredKeys: false }), io, ['The next Meter that opens m.db sends them again.\n']);
 */
export function reportReplay({ replayed, skipped }: ReplayResult, io: CliIo, whatNext: string[]): void {
  if (replayed.length === 0) io.stdout.write('no dead letter was moved back to pending\n');
  else {
    io.stdout.write(`moved ${replayed.length} dead letter(s) back to pending (ids ${replayed.map((l) => l.id).join(', ')}).\n`);
    for (const line of whatNext) io.stdout.write(line);
  }
  for (const { letter, why } of skipped) io.stdout.write(`skipped ${letter.id} (${letter.reason}, ${letter.referenceId}): ${why}\n`);
}

/**
 * Exit code 1, with a message, when an `--id` named no dead letter; 0 otherwise.
 *
 * @example
 * return missingIds(command.ids, letters, io);
 */
export function missingIds(ids: number[] | undefined, found: Array<{ id: number }>, io: CliIo): number {
  const missing = (ids ?? []).filter((id) => !found.some((l) => l.id === id));
  if (missing.length === 0) return 0;
  io.stderr.write(`no dead letter with id ${missing.join(', ')}${found.length ? '' : ' (or it does not match --reason)'}\n`);
  return 1;
}
