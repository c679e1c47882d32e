// The `pacspace-metering` command against the shared Postgres outbox (`--postgres URL`): status,
// dead letters list/export/replay, spawned as users run it (the built bin).
import { IdempotencyConflictError, PacSpaceApiError, type QueuedDelta } from '@pacspace-metering/core';
import { createPostgresStore } from '@pacspace-metering/postgres-store';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { delta, noPause } from '../../postgres-store/test-support/helpers.js';
import { startTestDatabase, type TestDatabase } from '../../postgres-store/test-support/pg-cluster.js';
import { runCli as cli } from '../test-support/helpers.js';

describe('pacspace-metering --postgres', () => {
  let db: TestDatabase;
  let dir: string;
  const letters: Record<string, QueuedDelta> = {};

  beforeAll(async () => {
    db = await startTestDatabase('cli');
    dir = mkdtempSync(join(tmpdir(), 'pg-cli-'));
    const store = await createPostgresStore({ connectionString: db.url });
    letters.rejected = delta('acme');
    letters.integrity = delta('beta');
    const pending = delta('gamma');
    await Promise.all([letters.rejected, letters.integrity, pending].map((item) => store.add(item)));
    const leased = (await store.leaseBatch(Date.now(), 2, 1_000_000, noPause)) as QueuedDelta[];
    expect(leased).toEqual([letters.rejected, letters.integrity]);
    store.deadLetter(letters.rejected, 'rejected', new PacSpaceApiError('Invalid API key', { status: 401, code: 'INVALID_API_KEY' }));
    store.deadLetter(letters.integrity, 'integrity', new IdempotencyConflictError('Idempotency-Key reused with a different body', { status: 409, code: 'IDEMPOTENCY_CONFLICT' }));
    await store.close();
  }, 120_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db.stop();
  });

  it('status reports pending rows, who holds them and dead letters by reason', () => {
    const text = cli(['status', '--postgres', db.url]);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^outbox\s+postgres schema pacspace_metering$/m);
    expect(text.stdout).toMatch(/^pending\s+1 \(\d+ bytes\)$/m);
    expect(text.stdout).toMatch(/^unleased\s+1 \(sent by the next instance of their Meter that polls\)$/m);
    // Written by a store no Meter was attached to: rows without an owner.
    expect(text.stdout).toMatch(/^by meter\s+\(written before rows had an owner\) 1$/m);
    expect(text.stdout).toMatch(/^dead letters\s+2 \(integrity 1, rejected 1\)$/m);
    const json = JSON.parse(cli(['status', '--postgres', db.url, '--json']).stdout);
    expect(json).toMatchObject({ schema: 'pacspace_metering', pending: 1, unleased: 1, leasedBy: {}, deadLetters: { total: 2, byReason: { rejected: 1, integrity: 1 } } });
  });

  it('lists and exports dead letters with their last error and frozen body', () => {
    const list = cli(['dead-letters', 'list', '--postgres', db.url]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('401 INVALID_API_KEY: Invalid API key');
    expect(list.stdout).toContain(letters.integrity!.referenceId);
    const out = join(dir, 'letters.jsonl');
    const exported = cli(['dead-letters', 'export', '--postgres', db.url, '--reason', 'rejected', '--out', out]);
    expect(exported).toMatchObject({ code: 0, stderr: `exported 1 dead letter(s) to ${out}\n` });
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([expect.objectContaining({ reason: 'rejected', referenceId: letters.rejected!.referenceId, body: JSON.parse(letters.rejected!.body) })]);
  });

  it('replays dead letters back to pending, leaving 409s alone unless named', () => {
    const replay = cli(['dead-letters', 'replay', '--postgres', db.url]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^moved 1 dead letter\(s\) back to pending/m);
    expect(replay.stdout).toMatch(/^skipped \d+ \(integrity, /m);
    expect(JSON.parse(cli(['status', '--postgres', db.url, '--json']).stdout)).toMatchObject({ pending: 2, unleased: 2, deadLetters: { total: 1, byReason: { integrity: 1 } } });
  });

  it('says what is wrong: a bad URL, --schema without --postgres, a schema with no outbox', () => {
    expect(cli(['status', '--postgres', 'mysql://x'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--postgres: must be a postgres:// URL') });
    expect(cli(['status', '--sqlite', 'm.db', '--schema', 'x'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--schema: only with --postgres') });
    expect(cli(['status', '--postgres', db.url, '--schema', 'nothing_here'])).toMatchObject({ code: 1, stderr: expect.stringContaining('has no outbox table') });
  });
});
