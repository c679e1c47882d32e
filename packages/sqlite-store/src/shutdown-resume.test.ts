import { createMeter, type DropEvent } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { tempDir } from '../test-support/helpers.js';
import { createSqliteStore } from './sqlite-store.js';
import { SqliteOutbox } from './outbox.js';

describe('a Meter on a SQLite store: shutdown that times out, and the next start', () => {
  const tmp = tempDir();
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 5 });
  });
  afterAll(async () => {
    await sandbox.close();
    tmp.cleanup();
  });

  it('leaves what it could not deliver in the file, drops nothing, and the next Meter sends it once, body and key unchanged', async () => {
    const path = tmp.file();
    // Slow answers: close() runs out of time with deltas waiting and in flight.
    sandbox.setFaults({ latencyMs: 300 });
    const drops: DropEvent[] = [];
    const first = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'resume', concurrency: 4, store: createSqliteStore({ path }), onDrop: (e) => void drops.push(e) });
    const accepted: string[] = [];
    for (let i = 0; i < 50; i++) {
      const result = first.enqueue({ customerId: `cust-${i % 3}`, delta: -1, reason: 'api_request', requestId: `call-${i}`, metadata: { i, plan: 'pro' } });
      if (!result.accepted) throw result.error;
      accepted.push(result.referenceId);
    }
    const report = await first.close({ timeoutMs: 100 });
    expect(report).toMatchObject({ timedOut: true, pending: 50, dropped: 0 });
    expect(drops).toEqual([]);
    const file = SqliteOutbox.open(path);
    expect(file.status()).toMatchObject({ pending: 50, deadLetters: { total: 0 }, openBy: null });
    file.close();

    // The four sent before the timeout are committed by the sandbox; their answers reach a closed store.
    sandbox.setFaults({});
    const second = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'resume', store: createSqliteStore({ path }) });
    expect(second.stats().queued).toBe(50);
    const drained = await second.close({ timeoutMs: 10_000 });
    expect(drained).toMatchObject({ delivered: 50, pending: 0, timedOut: false });
    // Sent again with their keys: PacSpace answers with the replay of the earlier commit.
    expect(drained.deduplicated).toBeGreaterThan(0);

    const ledger = sandbox.ledger();
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual([...accepted].sort());
    expect(ledger.counts.conflicts).toBe(0);
    const byRef = new Map(ledger.deltas.map((d) => [d.referenceId, d]));
    expect(byRef.get(accepted[7]!)).toMatchObject({ customerId: 'cust-1', delta: -1, metadata: { i: 7, plan: 'pro' } });
  });
});
