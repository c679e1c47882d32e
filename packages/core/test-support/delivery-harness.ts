// A harness for the delivery core (intake, loop, outcomes, pauses, drain) with the network cut off
// at the sender: each request is handed to a script that answers with a BatchVerdict, as the real
// sender would after reading PacSpace's answer. Jest's fake timers drive the clock, so backoffs of
// seconds pass in microseconds and a test can say exactly when something is (not yet) resent.
import { jest } from '@jest/globals';
import type { FrozenBatch } from '../src/delivery/batch.js';
import type { BatchSender } from '../src/delivery/batch-sender.js';
import type { ItemOutcome } from '../src/delivery/batch-result.js';
import type { BatchVerdict } from '../src/delivery/batch-verdict.js';
import type { BalanceClient } from '../src/client/client.js';
import type { DeliveredEvent, DropEvent, RetryEvent } from '../src/reporting/events.js';
import { silentLogger } from '../src/reporting/logger.js';
import type { MeteringLogger } from '../src/reporting/metering-logger.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { MeterEngine } from '../src/meter-engine.js';
import { createMeterEvents } from '../src/reporting/meter-events.js';
import { resolveMeterConfig, type MeterOptions } from '../src/options.js';

/** One request the engine made: its key, body and the referenceIds it carried, in order. */
export interface SentRequest {
  key: string;
  mode: FrozenBatch['mode'];
  body: string;
  referenceIds: string[];
  /** Fake-clock time it was sent at. */
  at: number;
}

/** Answers one request; may be async (a promise that never settles models a request still in flight). */
export type Script = (request: SentRequest, index: number) => BatchVerdict | Promise<BatchVerdict>;

/** Every item recorded, as PacSpace answers a batch it took whole. */
export const recordAll: Script = (request) => ({ kind: 'answered', items: request.referenceIds.map((): ItemOutcome => ({ kind: 'delivered', replayed: false, receipt: {} })), status: 201 });

/**
 * Builds a MeterEngine on a MemoryStore with a scripted sender, silent logging, and hooks that
 * record every delivery, retry and drop. Call {@link useFakeClock} in `beforeEach` first.
 */
export function deliveryHarness(script: Script, options: MeterOptions = {}) {
  const sent: SentRequest[] = [];
  const delivered: DeliveredEvent[] = [];
  const dropped: DropEvent[] = [];
  const retried: RetryEvent[] = [];
  /** The loop's "internal delivery error" lines: a bug it caught (logged, never thrown) would otherwise pass unseen. */
  const errors: Array<{ obj: object; msg?: string }> = [];
  const logger: MeteringLogger = { ...silentLogger, error: (obj, msg) => (msg?.includes('internal') ? errors.push({ obj, msg }) : undefined) };
  const sender: BatchSender = {
    send(batch) {
      const request: SentRequest = { key: batch.key, mode: batch.mode, body: batch.body, referenceIds: batch.members.map((m) => (JSON.parse(m.body) as { referenceId: string }).referenceId), at: Date.now() };
      sent.push(request);
      return Promise.resolve(script(request, sent.length - 1));
    },
    abandon() {},
  };
  const meterOptions: MeterOptions = { scope: 'unit', flushIntervalMs: 1000, retryBaseDelayMs: 1000, retryMaxDelayMs: 60_000, ...options };
  const events = createMeterEvents(
    { ...meterOptions, logger, onDelivered: (e) => delivered.push(e), onDrop: (e) => dropped.push(e), onRetry: (e) => retried.push(e) },
    logger,
  );
  // Never called (the sender above is the edge); its emitBatch only says the batch endpoint exists.
  const client = { balance: { emit: () => Promise.reject(new Error('unused')), emitBatch: () => Promise.reject(new Error('unused')) } } as unknown as BalanceClient;
  const engine = new MeterEngine({
    config: resolveMeterConfig(meterOptions),
    client,
    builtIn: undefined,
    ownClient: false,
    store: new MemoryStore(),
    identity: { scope: 'unit', account: 'unit' },
    events,
    now: Date.now,
    random: () => 0.5,
    sender,
  });
  /** Accepts `count` deltas for `customerId` (referenceIds built from `r{i}`), as `enqueue` would. */
  const accept = (count: number, customerId = 'acme', from = 0): string[] =>
    Array.from({ length: count }, (_, i) => {
      const result = engine.intake.accept({ customerId, delta: -1, reason: 'api_request', requestId: `r${from + i}` }, true);
      if (!result.accepted || result.skipped) throw new Error(`not accepted: ${JSON.stringify(result)}`);
      return result.referenceId;
    });
  return { engine, sent, delivered, dropped, retried, errors, accept };
}

/**
 * Fake timers (Date, setTimeout) from a fixed start. `setImmediate` stays real: the loop pumps on
 * it, and a fake one scheduled from a promise callback is not run by a zero-length advance.
 */
export function useFakeClock(start = Date.UTC(2025, 2, 1)): void {
  jest.useFakeTimers({ now: start, doNotFake: ['setImmediate', 'clearImmediate'] });
}

/** Lets the fake clock run `ms` (settling what is due now first and after), timers and promises between. */
export async function advance(ms: number): Promise<void> {
  await settleNow();
  await jest.advanceTimersByTimeAsync(ms);
  await settleNow();
}

/** Runs what is due now, again and again (each answer schedules the next pump on an immediate), without moving the clock. */
export async function settleNow(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await jest.advanceTimersByTimeAsync(0);
  }
}
