import type { DeadLetter } from './outbox.js';

/**
 * `3h 2m`, `4m 10s`, `12s`, `850ms`: the two largest units of a duration.
 *
 * @example
 * formatAge(93_000); // '1m 33s'
 */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith('0')).join(' ') || '0s';
}

/**
 * An epoch-ms time as ISO 8601.
 *
 * @example
 * iso(0); // '1970-01-01T00:00:00.000Z'
 */
export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The pending part of a status, SQLite file or Postgres outbox alike.
 *
 * @example
 * const summary: PendingSummary = { pending: 0, pendingBytes: 0, oldestPendingAcceptedAt: null, nextDueAt: null };
 */
export interface PendingSummary {
  pending: number;
  pendingBytes: number;
  oldestPendingAcceptedAt: number | null;
  nextDueAt: number | null;
}

/**
 * The `pending`, `oldest pending` and `next attempt` lines of a status (only `pending 0` when
 * nothing waits); `dueNow` says what "due now" means for this kind of store.
 *
 * @example
 * alignFacts(pendingFacts(file.status(), Date.now(), 'due now'));
 */
export function pendingFacts(status: PendingSummary, now: number, dueNow: string): Array<[string, string]> {
  if (status.pending === 0) return [['pending', '0']];
  const oldest = status.oldestPendingAcceptedAt ?? now;
  const due = status.nextDueAt ?? 0;
  return [
    ['pending', `${status.pending} (${status.pendingBytes} bytes)`],
    ['oldest pending', `${formatAge(now - oldest)} old (accepted ${iso(oldest)})`],
    ['next attempt', due <= now ? dueNow : `in ${formatAge(due - now)} (${iso(due)})`],
  ];
}

/**
 * The `by meter` line when something is pending: how many deltas each Meter (scope and account)
 * accepted; only a Meter with the same scope and account delivers them.
 *
 * @example
 * meterFacts([{ scope: 'api', account: 'key:3f9a0c1d2b4e5f60', pending: 2 }]); // [['by meter', 'api key:3f9a0c1d2b4e5f60 2']]
 */
export function meterFacts(byMeter: ReadonlyArray<{ scope: string | null; account: string | null; pending: number }>): Array<[string, string]> {
  if (byMeter.length === 0) return [];
  const meters = byMeter.map(({ scope, account, pending }) => (scope === null ? `(written before rows had an owner) ${pending}` : `${scope} ${account} ${pending}`));
  return [['by meter', meters.join(', ')]];
}

/**
 * The `dead letters` line: `0`, or the total and the count per reason.
 *
 * @example
 * deadLetterFact({ total: 2, byReason: { max_elapsed: 2 } }); // ['dead letters', '2 (max_elapsed 2)']
 */
export function deadLetterFact(deadLetters: { total: number; byReason: Partial<Record<string, number>> }): [string, string] {
  const reasons = Object.entries(deadLetters.byReason).map(([reason, n]) => `${reason} ${n}`);
  return ['dead letters', deadLetters.total === 0 ? '0' : `${deadLetters.total} (${reasons.join(', ')})`];
}

/**
 * Label/value lines with the values in one column, one fact per line.
 *
 * @example
 * alignFacts([['pending', '0'], ['dead letters', '0']]); // 'pending       0\ndead letters  0\n'
 */
export function alignFacts(lines: Array<[string, string]>): string {
  const width = Math.max(...lines.map(([label]) => label.length)) + 2;
  return lines.map(([label, value]) => `${label.padEnd(width)}${value}\n`).join('');
}

/**
 * Dead letters as an aligned table.
 *
 * @example
 * process.stdout.write(formatDeadLetters(await outbox.deadLetters({})));
 */
export function formatDeadLetters(letters: DeadLetter[]): string {
  if (letters.length === 0) return 'no dead letters\n';
  const header = ['id', 'failed at', 'reason', 'attempts', 'customer', 'referenceId', 'last error'];
  const rows = letters.map((l) => [String(l.id), iso(l.failedAt), l.reason, String(l.attempts), l.customerId, l.referenceId, describeError(l.error)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`;
  return line(header) + rows.map(line).join('');
}

function describeError(error: DeadLetter['error']): string {
  const tag = [error.status, error.code].filter((x) => x !== null && x !== '').join(' ');
  return tag ? `${tag}: ${error.message}` : error.message;
}

/**
 * One dead letter as a JSONL line: ISO times, the body parsed.
 *
 * @example
 * for (const letter of await outbox.deadLetters({})) out.write(deadLetterJsonLine(letter));
 */
export function deadLetterJsonLine(letter: DeadLetter): string {
  let body: unknown = letter.body;
  try {
    body = JSON.parse(letter.body);
  } catch {
    // Kept as the raw string.
  }
  return `${JSON.stringify({
    id: letter.id,
    reason: letter.reason,
    referenceId: letter.referenceId,
    customerId: letter.customerId,
    attempts: letter.attempts,
    firstAcceptedAt: iso(letter.firstAcceptedAt),
    acceptedAt: iso(letter.acceptedAt),
    failedAt: iso(letter.failedAt),
    error: letter.error,
    body,
  })}\n`;
}
