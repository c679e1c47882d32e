// Issue 14, "Going live": what the READMEs say a 402 (INSUFFICIENT_CREDITS, the PacSpace account out
// of credits) does to background deltas. Not retried, no pause, dropped as `rejected` and counted
// under the code, handed to onDrop/onError, `emit()` rejects with it; with the SQLite store the
// deltas stay as dead letters that, replayed once the account has credits, are billed once each.
// PacSpace is the sandbox behind a proxy on 127.0.0.1 that answers 402 while `exhausted` is set.
import { createMeter, PacSpaceApiError, silentLogger, type DropEvent, type Meter } from '@pacspace-metering/core';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { createSqliteStore, SqliteOutbox } from '@pacspace-metering/sqlite-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.js';

const INSUFFICIENT = { success: false, statusCode: 402, error: { code: 'INSUFFICIENT_CREDITS', message: 'no credits left on this account' }, message: 'no credits left on this account' };

let sandbox: Sandbox;
let proxy: RecordingProxy;
let exhausted = true;
let dir: string;

beforeAll(async () => {
  sandbox = await startSandbox();
  proxy = await startRecordingProxy(sandbox.url, (path) => (exhausted && path.startsWith('/api/v1/balance/delta') ? { status: 402, body: INSUFFICIENT } : undefined));
  dir = mkdtempSync(join(tmpdir(), 'going-live-402-'));
});

afterAll(async () => {
  await proxy.close();
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  exhausted = true;
  proxy.requests.length = 0;
  sandbox.reset();
});

const deltaFor = (n: number) => ({ customerId: 'acme', delta: -1, reason: 'api_request', requestId: `req-${n}` });

describe.each(['batch', 'single'] as const)('a 402 with delivery: %s', (delivery) => {
  it('drops each delta as rejected, counted under INSUFFICIENT_CREDITS, reported, never retried, and the Meter keeps going', async () => {
    const drops: DropEvent[] = [];
    const errors: Error[] = [];
    const meter: Meter = createMeter({
      apiKey: sandbox.apiKey,
      baseUrl: proxy.url,
      delivery,
      logger: silentLogger,
      onDrop: (event) => drops.push(event),
      onError: (error) => errors.push(error),
    });
    for (let n = 1; n <= 3; n++) expect(meter.enqueue(deltaFor(n))).toMatchObject({ accepted: true });
    await meter.flush({ timeoutMs: 30_000 });

    expect(meter.stats()).toMatchObject({ accepted: 3, delivered: 0, retried: 0, dropped: { rejected: 3 }, failed: { INSUFFICIENT_CREDITS: 3 }, queued: 0, pausedUntil: null });
    expect(proxy.requests).toHaveLength(delivery === 'batch' ? 1 : 3); // one attempt each, no retry
    expect(drops.map((d) => [d.reason, d.referenceId, d.attempts])).toEqual(
      [1, 2, 3].map((n) => ['rejected', `metering:api_request:acme:req-${n}`, 1]),
    );
    for (const error of [...drops.map((d) => d.error), ...errors]) expect(error).toMatchObject({ status: 402, code: 'INSUFFICIENT_CREDITS' });

    // No pause: the next delta is tried at once and meets the same answer; emit() rejects with it.
    const emitted = meter.emit(deltaFor(4));
    await expect(emitted).rejects.toBeInstanceOf(PacSpaceApiError);
    await expect(emitted).rejects.toMatchObject({ status: 402, code: 'INSUFFICIENT_CREDITS' });
    expect(meter.stats().dropped.rejected).toBe(4);
    await meter.close();
    expect(sandbox.ledger().deltas).toEqual([]);
  });
});

it('with the SQLite store, the refused deltas stay as dead letters and, replayed after a top-up, are billed once each', async () => {
  const path = join(dir, 'metering.db');
  const first = createMeter({ apiKey: sandbox.apiKey, baseUrl: proxy.url, logger: silentLogger, store: createSqliteStore({ path }) });
  for (let n = 1; n <= 3; n++) first.enqueue(deltaFor(n));
  await first.flush({ timeoutMs: 30_000 });
  expect(first.stats().dropped).toEqual({ rejected: 3 });
  await first.close();

  const file = SqliteOutbox.open(path);
  try {
    expect(file.deadLetters().map((l) => [l.reason, l.referenceId])).toEqual([1, 2, 3].map((n) => ['rejected', `metering:api_request:acme:req-${n}`]));
    exhausted = false; // the account was topped up
    expect(file.replay({ reason: 'rejected' }).replayed).toHaveLength(3);
  } finally {
    file.close();
  }

  const second = createMeter({ apiKey: sandbox.apiKey, baseUrl: proxy.url, logger: silentLogger, store: createSqliteStore({ path }) });
  await second.flush({ timeoutMs: 30_000 });
  await second.close();
  const ledger = sandbox.ledger();
  expect(ledger.deltas.map((d) => d.referenceId).sort()).toEqual([1, 2, 3].map((n) => `metering:api_request:acme:req-${n}`));
  expect(duplicateReferenceIds(ledger)).toEqual([]);
});
