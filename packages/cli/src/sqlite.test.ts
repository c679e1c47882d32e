// The `pacspace-metering` command on a SQLite store file (`--sqlite FILE`): status, dead letters
// list/export/replay, bad command lines, spawned as users run it (the built bin).
import { IdempotencyConflictError, PacSpaceApiError } from '@pacspace-metering/core';
import { createSqliteStore, SqliteOutbox } from '@pacspace-metering/sqlite-store';
import { readFileSync, writeFileSync } from 'node:fs';
import { delta, noPause, tempDir } from '../../sqlite-store/test-support/helpers.js';
import { runCli } from '../test-support/helpers.js';

const HOUR = 3_600_000;

describe('pacspace-metering --sqlite', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  let n = 0;

  /**
   * A store with 2 pending deltas (the oldest accepted 90 s ago) and 4 dead letters: a 401, a 409,
   * one out of attempts, and one out of time first accepted 25 h ago.
   */
  function seededStore() {
    const path = tmp.file(`cli-${++n}.db`);
    const now = Date.now();
    const store = createSqliteStore({ path });
    const letters = {
      rejected: delta('acme', { acceptedAt: now - 60_000 }),
      integrity: delta('acme', { acceptedAt: now - 50_000 }),
      max_attempts: delta('beta', { acceptedAt: now - 40_000 }),
      max_elapsed: delta('beta', { acceptedAt: now - 25 * HOUR }),
    };
    const pending = [delta('acme', { acceptedAt: now - 90_000 }), delta('gamma', { acceptedAt: now - 10_000 })];
    for (const item of [...Object.values(letters), ...pending]) store.add(item);
    const errors = {
      rejected: new PacSpaceApiError('Invalid API key', { status: 401, code: 'INVALID_API_KEY' }),
      integrity: new IdempotencyConflictError('Idempotency-Key reused with a different body', { status: 409, code: 'IDEMPOTENCY_CONFLICT' }),
      max_attempts: new PacSpaceApiError('Service unavailable', { status: 503, code: 'SERVICE_UNAVAILABLE' }),
      max_elapsed: new PacSpaceApiError('socket hang up', { status: 0, code: 'NETWORK_ERROR' }),
    };
    for (const [reason, item] of Object.entries(letters) as Array<[keyof typeof letters, typeof letters.rejected]>) {
      expect(store.leaseBatch(now, 1, Infinity, noPause)[0]).toBe(item);
      item.attempts = reason === 'max_attempts' ? 200 : 1;
      store.deadLetter(item, reason, errors[reason]);
    }
    store.close();
    return { path, letters, pending };
  }

  it('status: pending count, oldest pending age, next attempt, dead letters by reason, who has it open', () => {
    const { path } = seededStore();
    const { code, stdout, stderr } = runCli(['status', '--sqlite', path]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`store           ${path}\n`);
    expect(stdout).toMatch(/^pending +2 \(\d+ bytes\)$/m);
    expect(stdout).toMatch(/^oldest pending +1m 3\ds old \(accepted \d{4}-\d\d-\d\dT.+Z\)$/m);
    expect(stdout).toMatch(/^next attempt +due now/m);
    expect(stdout).toMatch(/^dead letters +4 \(integrity 1, max_attempts 1, max_elapsed 1, rejected 1\)$/m);
    expect(stdout).toMatch(/^open by +nobody \(closed cleanly\)$/m);

    const json = runCli(['status', '--sqlite', path, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ path, pending: 2, deadLetters: { total: 4, byReason: { rejected: 1, integrity: 1, max_attempts: 1, max_elapsed: 1 } }, openBy: null });
  });

  it('dead-letters list: one row per letter with its last error; --reason filters', () => {
    const { path, letters } = seededStore();
    const all = runCli(['dead-letters', 'list', '--sqlite', path]);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id +failed at +reason +attempts +customer +referenceId +last error$/);
    expect(lines).toHaveLength(5);
    expect(all.stdout).toMatch(new RegExp(`${letters.rejected.seq} .* rejected +1 +acme +${letters.rejected.referenceId} +401 INVALID_API_KEY: Invalid API key`));
    expect(all.stdout).toMatch(/integrity .* 409 IDEMPOTENCY_CONFLICT: Idempotency-Key reused with a different body/);
    expect(all.stdout).toMatch(/max_attempts +200 /);
    const one = runCli(['dead-letters', 'list', '--sqlite', path, '--reason', 'integrity', '--json']);
    expect(JSON.parse(one.stdout)).toEqual([expect.objectContaining({ id: letters.integrity.seq, reason: 'integrity', referenceId: letters.integrity.referenceId, body: letters.integrity.body })]);
  });

  it('dead-letters export: JSON Lines on stdout, or into --out', () => {
    const { path, letters } = seededStore();
    const out = runCli(['dead-letters', 'export', '--sqlite', path]);
    expect(out.code).toBe(0);
    const rows = out.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(rows.map((r) => r.reason)).toEqual(['rejected', 'integrity', 'max_attempts', 'max_elapsed']);
    expect(rows[0]).toEqual({
      id: letters.rejected.seq,
      reason: 'rejected',
      referenceId: letters.rejected.referenceId,
      customerId: 'acme',
      attempts: 1,
      firstAcceptedAt: new Date(letters.rejected.acceptedAt).toISOString(),
      acceptedAt: new Date(letters.rejected.acceptedAt).toISOString(),
      failedAt: expect.stringMatching(/Z$/),
      error: { code: 'INVALID_API_KEY', status: 401, message: 'Invalid API key' },
      body: JSON.parse(letters.rejected.body),
    });

    const file = tmp.file(`export-${n}.jsonl`);
    const toFile = runCli(['dead-letters', 'export', '--sqlite', path, '--reason', 'max_attempts', '--out', file]);
    expect(toFile).toMatchObject({ code: 0, stdout: '', stderr: `exported 1 dead letter(s) to ${file}\n` });
    expect(readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line).referenceId)).toEqual([letters.max_attempts.referenceId]);
  });

  it('dead-letters replay: moves letters back to pending; 409s and letters older than the key lifetime only when asked', () => {
    const { path, letters } = seededStore();
    const first = runCli(['dead-letters', 'replay', '--sqlite', path]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`moved 2 dead letter(s) back to pending (ids ${letters.rejected.seq}, ${letters.max_attempts.seq}).`);
    expect(first.stdout).toContain(`The next Meter that opens ${path} sends them again, each with its frozen body and Idempotency-Key.`);
    expect(first.stdout).toMatch(new RegExp(`skipped ${letters.integrity.seq} \\(integrity, .*\\): a 409: PacSpace holds a different delta under this referenceId`));
    expect(first.stdout).toMatch(new RegExp(`skipped ${letters.max_elapsed.seq} \\(max_elapsed, .*\\): first accepted more than 24 h ago.*--allow-expired-keys`));

    const file = SqliteOutbox.open(path);
    expect(file.status()).toMatchObject({ pending: 4, deadLetters: { total: 2 } });
    file.close();
    // Same body and key, attempts from 0: the next store on the file leases them like any other delta.
    const store = createSqliteStore({ path });
    const bodies = store.list().map((i) => [i.referenceId, i.body, i.attempts]);
    store.close();
    expect(bodies).toEqual(expect.arrayContaining([[letters.rejected.referenceId, letters.rejected.body, 0], [letters.max_attempts.referenceId, letters.max_attempts.body, 0]]));

    expect(runCli(['dead-letters', 'replay', '--sqlite', path, '--reason', 'integrity']).stdout).toContain(`moved 1 dead letter(s) back to pending (ids ${letters.integrity.seq})`);
    expect(runCli(['dead-letters', 'replay', '--sqlite', path, '--id', String(letters.max_elapsed.seq)]).stdout).toMatch(/no dead letter was moved[\s\S]*skipped .*24 h/);
    expect(runCli(['dead-letters', 'replay', '--sqlite', path, '--id', String(letters.max_elapsed.seq), '--allow-expired-keys']).stdout).toContain('moved 1 dead letter(s)');
    expect(runCli(['status', '--sqlite', path]).stdout).toMatch(/^dead letters +0$/m);

    const missing = runCli(['dead-letters', 'replay', '--sqlite', path, '--id', '999']);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('no dead letter with id 999') });
  });

  it.each([
    [['status', '--stroe', 'x.db'], 'unknown flag --stroe'],
    [['status'], '--sqlite FILE (or --postgres URL) is required'],
    [['status', '--sqlite'], '--sqlite needs a value'],
    [['status', '--sqlite', 'x.db', '--json=yes'], '--json takes no value'],
    [['status', '--sqlite', 'x.db', '--reason', 'rejected'], "--reason is not a flag of 'status'"],
    [['dead-letters', 'list', '--sqlite', 'x.db', '--out', 'y'], "--out is not a flag of 'dead-letters list'"],
    [['dead-letters', 'replay', '--sqlite', 'x.db', '--id', 'abc'], '--id: must be a positive integer'],
    [['dead-letters', 'replay', '--sqlite', 'x.db', '--id', '0'], '--id: must be a positive integer'],
    [['dead-letters', 'replay', '--sqlite', 'x.db', '--reason', 'Not A Reason'], '--reason: must be a reason'],
    [['dead-letters', 'export', '--sqlite', 'x.db', '--out', ''], '--out: must name a file'],
    [['dead-letters', '--sqlite', 'x.db'], "'dead-letters' needs a subcommand"],
    [['dead-letters', 'purge', '--sqlite', 'x.db'], "unknown subcommand 'dead-letters purge'"],
    [['stats', '--sqlite', 'x.db'], "unknown command 'stats'"],
  ])('%j exits 2 naming the problem', (args, message) => {
    const { code, stdout, stderr } = runCli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`pacspace-metering: ${message}`);
    expect(stderr).toContain("Run 'pacspace-metering --help' for usage.");
  });

  it('exits 1 naming the file when the store is missing or corrupted', () => {
    const missing = tmp.file('does-not-exist.db');
    expect(runCli(['status', '--sqlite', missing])).toMatchObject({ code: 1, stderr: `pacspace-metering store ${missing}: no such file\n` });
    const corrupted = tmp.file('corrupted.db');
    writeFileSync(corrupted, 'not a database '.repeat(100));
    const result = runCli(['dead-letters', 'list', '--sqlite', corrupted]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`pacspace-metering store ${corrupted}: is not a SQLite database, or is damaged`);
  });

  it('--help prints the usage and exits 0', () => {
    const { code, stdout } = runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: pacspace-metering <command> --sqlite FILE/);
    expect(stdout).toContain('dead-letters replay [--reason R]');
  });
});
