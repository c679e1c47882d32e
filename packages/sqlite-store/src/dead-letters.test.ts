import { createMeter, type DropEvent, type MeterOptions } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { tempDir } from '../test-support/helpers.js';
import { createSqliteStore } from './sqlite-store.js';
import { SqliteOutbox } from './outbox.js';

/** A real Meter delivering to the sandbox over loopback, on a SQLite store: what it gives up on is kept. */
describe('dead letters', () => {
  const tmp = tempDir();
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 11 });
  });
  afterAll(async () => {
    await sandbox.close();
    tmp.cleanup();
  });

  /** One Meter on `path` for one scenario: enqueue, wait until settled, close. */
  async function run(path: string, options: MeterOptions, deltas: Array<{ customerId: string; delta: number; reason: string; referenceId: string; metadata?: Record<string, unknown> }>) {
    const drops: DropEvent[] = [];
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'dl', retryBaseDelayMs: 1, retryMaxDelayMs: 5, ...options, store: createSqliteStore({ path }), onDrop: (e) => void drops.push(e) });
    for (const d of deltas) {
      expect(meter.enqueue(d)).toMatchObject({ accepted: true });
      await meter.flush({ timeoutMs: 10_000 });
    }
    const report = await meter.close({ timeoutMs: 10_000 });
    expect(report).toMatchObject({ pending: 0, timedOut: false });
    return drops;
  }

  const bodyOf = (d: { customerId: string; delta: number; reason: string; referenceId: string; metadata?: unknown }) =>
    JSON.stringify({ customerId: d.customerId, delta: d.delta, reason: d.reason, referenceId: d.referenceId, metadata: d.metadata });

  it('keeps 4xx refusals, 409s and deltas out of attempts or time with reason, attempts and last error; onDrop still fires', async () => {
    const path = tmp.file('scenarios.db');
    const refused = { customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'dl:refused:1', metadata: { plan: 'pro' } };
    const first = { customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'dl:conflict:1' };
    const conflicting = { ...first, delta: -2 };
    const outOfAttempts = { customerId: 'beta', delta: -3, reason: 'export', referenceId: 'dl:attempts:1' };
    const outOfTime = { customerId: 'beta', delta: -4, reason: 'export', referenceId: 'dl:elapsed:1' };

    sandbox.reset();
    const drops = [
      ...(await run(path, { apiKey: 'pk_test_wrong_key' }, [refused])),
      ...(await run(path, {}, [first, conflicting])),
    ];
    sandbox.setFaults({ serverError: { rate: 1, statuses: [503] } });
    drops.push(...(await run(path, { maxAttempts: 3 }, [outOfAttempts])));
    drops.push(...(await run(path, { maxRetryElapsedMs: 1 }, [outOfTime])));
    sandbox.setFaults({});

    expect(drops.map((d) => [d.reason, d.referenceId])).toEqual([
      ['unauthorized', refused.referenceId],
      ['integrity', first.referenceId],
      ['max_attempts', outOfAttempts.referenceId],
      ['max_elapsed', outOfTime.referenceId],
    ]);
    const file = SqliteOutbox.open(path);
    try {
      expect(file.status()).toMatchObject({ pending: 0, deadLetters: { total: 4, byReason: { unauthorized: 1, integrity: 1, max_attempts: 1, max_elapsed: 1 } } });
      const letters = file.deadLetters();
      expect(letters.map((l) => ({ reason: l.reason, referenceId: l.referenceId, attempts: l.attempts, status: l.error.status, code: l.error.code, body: l.body }))).toEqual([
        { reason: 'unauthorized', referenceId: refused.referenceId, attempts: 1, status: 401, code: 'INVALID_API_KEY', body: bodyOf(refused) },
        { reason: 'integrity', referenceId: first.referenceId, attempts: 1, status: 409, code: 'IDEMPOTENCY_CONFLICT', body: bodyOf(conflicting) },
        { reason: 'max_attempts', referenceId: outOfAttempts.referenceId, attempts: 3, status: 503, code: expect.any(String), body: bodyOf(outOfAttempts) },
        { reason: 'max_elapsed', referenceId: outOfTime.referenceId, attempts: 1, status: 503, code: expect.any(String), body: bodyOf(outOfTime) },
      ]);
      for (const letter of letters) {
        expect(letter.error.message.length).toBeGreaterThan(0);
        expect(letter.failedAt).toBeGreaterThanOrEqual(letter.acceptedAt);
      }
    } finally {
      file.close();
    }
    // The 409 is real: the first body was committed, the conflicting one was not.
    expect(sandbox.ledger().deltas.map((d) => [d.referenceId, d.delta])).toEqual([[first.referenceId, -1]]);
  });

  it('replayed letters are sent by the next Meter with the same body and key; a replayed 409 is refused again', async () => {
    const path = tmp.file('scenarios.db');
    const file = SqliteOutbox.open(path);
    const before = file.deadLetters();
    // Without a filter, the 409 stays: the same body would be refused again.
    const { replayed, skipped } = file.replay();
    expect(replayed.map((l) => l.reason).sort()).toEqual(['max_attempts', 'max_elapsed', 'unauthorized']);
    expect(skipped.map((s) => s.letter.reason)).toEqual(['integrity']);
    expect(file.status()).toMatchObject({ pending: 3, deadLetters: { total: 1 } });
    file.close();

    sandbox.reset();
    await run(path, {}, []);
    const ledger = sandbox.ledger();
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    const sent = new Map(ledger.deltas.map((d) => [d.referenceId, JSON.stringify({ customerId: d.customerId, delta: d.delta, reason: d.reason, referenceId: d.referenceId, metadata: d.metadata ?? undefined })]));
    for (const letter of replayed) expect(sent.get(letter.referenceId)).toBe(letter.body);
    // They travelled in batch requests: each item is deduplicated by its referenceId, under the batch's key.
    expect(ledger.deltas.every((d) => d.idempotencyKey?.startsWith('dl:batch:'))).toBe(true);

    // Naming the 409 replays it; PacSpace still holds the other body under that key, so it comes back.
    sandbox.reset();
    await run(path, {}, [{ customerId: 'acme', delta: -1, reason: 'api_request', referenceId: 'dl:conflict:1' }]);
    const again = SqliteOutbox.open(path);
    const integrity = before.find((l) => l.reason === 'integrity')!;
    expect(again.replay({ reason: 'integrity' }).replayed.map((l) => l.id)).toEqual([integrity.id]);
    again.close();
    const drops = await run(path, {}, []);
    expect(drops.map((d) => d.reason)).toEqual(['integrity']);
    const after = SqliteOutbox.open(path);
    expect(after.deadLetters().map((l) => [l.id, l.reason, l.attempts, l.error.status])).toEqual([[integrity.id, 'integrity', 1, 409]]);
    after.close();
  });
});
