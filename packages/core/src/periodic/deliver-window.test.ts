// A window through the Meter's sender, with a scripted sender at the edge: how each verdict ends
// the window's delivery (the sandbox tests in test/periodic-*.test.ts run the same over sockets).
import type { FrozenBatch } from '../delivery/batch.js';
import type { BatchSender } from '../delivery/batch-sender.js';
import type { BatchVerdict } from '../delivery/batch-verdict.js';
import { PacSpaceApiError } from '../errors.js';
import { DEFAULT_RETRY } from '../delivery/retry.js';
import { deliverWindow, type WindowDeliveryContext, type WindowInDelivery } from './deliver-window.js';
import type { FrozenItem } from './state-store.js';

const WINDOW = '20250301T130000Z.3600s';
const items: FrozenItem[] = Array.from({ length: 4 }, (_, i) => ({ customerId: `c${i}`, delta: -(i + 1), reason: 'gb', referenceId: `s:gb:c${i}:periodic.${WINDOW}` }));

function run(script: (batch: FrozenBatch, index: number) => BatchVerdict, options: { maxBatchSize?: number; mode?: 'batch' | 'single'; maxAttempts?: number } = {}) {
  const sent: FrozenBatch[] = [];
  const rounds: number[] = [];
  const sender: BatchSender = {
    send: (batch) => {
      sent.push(batch);
      return Promise.resolve(script(batch, sent.length - 1));
    },
    abandon() {},
  };
  const ctx: WindowDeliveryContext = {
    sender,
    mode: options.mode ?? 'batch',
    scope: 's',
    name: 'periodic',
    maxBatchSize: options.maxBatchSize ?? 100,
    policy: { ...DEFAULT_RETRY, baseDelayMs: 1, maxDelayMs: 1, maxAttempts: options.maxAttempts ?? 8 },
    random: () => 0,
    keepAlive: false,
    signal: new AbortController().signal,
    beginRound: async (round) => void rounds.push(round),
    onRetry: () => undefined,
  };
  const window: WindowInDelivery = { windowKey: WINDOW, items, round: 0, failures: 0, requests: 0, rounds: 0 };
  return { outcome: deliverWindow(ctx, window), sent, rounds, window };
}

const answered = (batch: FrozenBatch, item: (i: number) => 'ok' | 'later' | 'refused' = () => 'ok'): BatchVerdict => ({
  kind: 'answered',
  status: 201,
  items: batch.members.map((_, i) => {
    const what = item(i);
    if (what === 'ok') return { kind: 'delivered', replayed: false, receipt: {} };
    if (what === 'later') return { kind: 'transient', code: 'CADENCE_LIMIT', message: 'later' };
    return { kind: 'permanent', code: 'VALIDATION_ERROR', message: 'no', integrity: false };
  }),
});
const refusal = (status: number, code: string) => new PacSpaceApiError(code, { status, code });

describe('deliverWindow (through the batch sender and verdicts)', () => {
  it('sends each chunk as a frozen batch keyed by the window, the body being the items as JSON', async () => {
    const { outcome, sent } = run((batch) => answered(batch), { maxBatchSize: 2 });
    await expect(outcome).resolves.toEqual({ kind: 'delivered', delivered: 4, replayed: 0 });
    expect(sent.map((b) => b.key)).toEqual([`s:periodic:batch:${WINDOW}:r0.1of2`, `s:periodic:batch:${WINDOW}:r0.2of2`]);
    expect(sent[0]!.body).toBe(JSON.stringify({ deltas: items.slice(0, 2) }));
  });

  it('halves a chunk on a halve verdict under keys derived from its own, and lists the one item refused alone', async () => {
    const { outcome, sent } = run((batch) => {
      const bad = batch.body.includes('"c2"');
      if (!bad) return answered(batch);
      const error = refusal(413, 'PAYLOAD_TOO_LARGE');
      return batch.members.length > 1 ? { kind: 'halve', error } : { kind: 'failed', error, reason: 'rejected' };
    });
    const result = await outcome;
    expect(result).toMatchObject({ kind: 'failed', error: { code: 'ITEMS_REJECTED' } });
    expect(result.kind === 'failed' && result.items).toEqual([expect.objectContaining({ customerId: 'c2', code: 'PAYLOAD_TOO_LARGE' })]);
    const key = `s:periodic:batch:${WINDOW}:r0.1of1`;
    expect(sent.map((b) => b.key)).toEqual([key, `${key}.1of2`, `${key}.2of2`, `${key}.2of2.1of2`, `${key}.2of2.2of2`]);
  });

  it('never halves on a 409: the window fails with IDEMPOTENCY_CONFLICT (its snapshots changed)', async () => {
    const { outcome, sent } = run(() => ({ kind: 'halve', error: refusal(409, 'IDEMPOTENCY_CONFLICT') }));
    await expect(outcome).resolves.toMatchObject({ kind: 'failed', error: { code: 'IDEMPOTENCY_CONFLICT' }, items: [] });
    expect(sent).toHaveLength(1);
  });

  it('fails the window when PacSpace says the batch endpoint is not there (unbatched)', async () => {
    const { outcome } = run(() => ({ kind: 'unbatched', error: refusal(404, 'NOT_FOUND') }));
    await expect(outcome).resolves.toMatchObject({ kind: 'failed', error: { code: 'NOT_FOUND' } });
  });

  it('moves to the next key round when items are refused for now, saving the round first', async () => {
    const { outcome, sent, rounds } = run((batch, index) => answered(batch, (i) => (index === 0 && i === 1 ? 'later' : 'ok')));
    await expect(outcome).resolves.toEqual({ kind: 'delivered', delivered: 4, replayed: 0 });
    expect(rounds).toEqual([1]);
    expect(sent.map((b) => b.key)).toEqual([`s:periodic:batch:${WINDOW}:r0.1of1`, `s:periodic:batch:${WINDOW}:r1.1of1`]);
  });

  it('resends the same frozen batch on a retry verdict, and gives the run up when attempts run out', async () => {
    const { outcome, sent, window } = run(() => ({ kind: 'retry', error: refusal(503, 'SERVICE_UNAVAILABLE') }), { maxAttempts: 3 });
    await expect(outcome).resolves.toMatchObject({ kind: 'retry', error: { code: 'SERVICE_UNAVAILABLE' } });
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((b) => `${b.key}|${b.body}`)).size).toBe(1);
    expect(window.failures).toBe(3);
  });

  it('sends item by item, keyed by referenceId, for a client without emitBatch', async () => {
    const { outcome, sent } = run((batch) => answered(batch), { mode: 'single' });
    await expect(outcome).resolves.toEqual({ kind: 'delivered', delivered: 4, replayed: 0 });
    expect(sent.map((b) => [b.mode, b.key])).toEqual(items.map((item) => ['single', item.referenceId]));
    expect(sent[0]!.body).toBe(JSON.stringify(items[0]));
  });
});
