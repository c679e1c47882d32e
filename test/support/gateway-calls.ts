// The client side of the crash tests against test/fixtures/durable-app.mjs: one paid call sent
// the way a gateway would (its own request id, resent until answered), and the ledger check that
// every call answered 2xx was billed exactly once. Shared by durable-crash and postgres-fleet.
import { buildReferenceId } from '@pacspace-metering/core';
import { duplicateReferenceIds, type LedgerSnapshot } from '@pacspace-metering/sandbox';
import { request, type Agent } from 'node:http';

/** One paid call: its request id, the customer it bills, and whether the app should answer 503. */
export interface GatewayCall {
  id: string;
  customer: string;
  fail: boolean;
}

/** A complete answer (status and echoed request id), or 'cut-off' when none arrived. */
export type Answer = { status: number; requestId: string | undefined } | 'cut-off';

/**
 * One attempt of a call to the app on `port`: GET /v1/reports/{id} with x-request-id, x-customer
 * and (for `fail`) x-fail: 503. Never rejects: a reset or a truncated answer is 'cut-off'.
 * @example const answer = await sendCall(agent, port, { id: 'call-1', customer: 'cust-1', fail: false });
 */
export function sendCall(agent: Agent, port: number, call: GatewayCall): Promise<Answer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'x-request-id': call.id, 'x-customer': call.customer };
    if (call.fail) headers['x-fail'] = '503';
    const req = request({ host: '127.0.0.1', port, path: `/v1/reports/${call.id}`, agent, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.complete ? { status: res.statusCode!, requestId: res.headers['x-request-id'] as string | undefined } : 'cut-off'));
      res.once('error', () => resolve('cut-off'));
      res.once('close', () => res.complete || resolve('cut-off'));
    });
    req.once('error', () => resolve('cut-off'));
    req.end();
  });
}

/**
 * The gateway's side of a load run: numbers the calls (every 10th answered 503 by the app), and
 * records each attempt's answer, checking that a 200 echoes the call's id bound to its route.
 *
 * @example
 * const tally = new GatewayTally(seed);
 * const call = tally.nextCall();
 * while (!tally.record(call, await sendCall(agent, port, call)));
 */
export class GatewayTally {
  /** Request id echoed by the app for each call answered 200 -> its customer. */
  readonly billed = new Map<string, string>();
  /** Calls started. */
  calls = 0;
  /** Calls answered 503 (not billed). */
  answeredWithError = 0;
  /** Attempts whose answer was cut off, each sent again with the same id. */
  cutOff = 0;

  constructor(private readonly seed: number) {}

  /** The next call: a fresh id, one of five customers. */
  nextCall(): GatewayCall {
    const n = ++this.calls;
    return { id: `call-${this.seed}-${n}`, customer: `cust-${n % 5}`, fail: n % 10 === 0 };
  }

  /** Records one attempt; false when it was cut off and must be sent again. */
  record(call: GatewayCall, answer: Answer): boolean {
    if (answer === 'cut-off') {
      this.cutOff++;
      return false;
    }
    if (answer.status === 200) {
      // The trusted id, bound to the call (its method and URL): the same on every resend.
      expect(answer.requestId).toMatch(new RegExp(`^${call.id}\\.[0-9a-f]{16}$`));
      this.billed.set(answer.requestId!, call.customer);
    } else {
      expect(answer.status).toBe(503);
      this.answeredWithError++;
    }
    return true;
  }
}

/** The request id a referenceId was built from: its last segment (`{scope}:{reason}:{customer}:{requestId}`). */
export function requestIdOf(referenceId: string | null): string {
  return referenceId === null ? '' : referenceId.slice(referenceId.lastIndexOf(':') + 1);
}

/** What the ledger holds against what was billed; all four empty/zero when billing was exact. */
export interface LedgerOutcome {
  missing: string[];
  unexpected: Array<string | null>;
  duplicates: string[];
  conflicts: number;
}

/**
 * Compares the ledger with `billed` (request id echoed by the app -> customer), the app billing
 * under scope 'durable' and operation 'api_request'.
 * @example expect(ledgerOutcome(sandbox.ledger(), billed)).toEqual({ missing: [], unexpected: [], duplicates: [], conflicts: 0 });
 */
export function ledgerOutcome(ledger: LedgerSnapshot, billed: ReadonlyMap<string, string>): LedgerOutcome {
  const expected = [...billed].map(([requestId, customerId]) => buildReferenceId({ scope: 'durable', operation: 'api_request', customerId, requestId }));
  const committed = ledger.deltas.map((d) => d.referenceId);
  const committedSet = new Set(committed);
  return {
    missing: expected.filter((ref) => !committedSet.has(ref)),
    unexpected: committed.filter((ref) => !billed.has(requestIdOf(ref))),
    duplicates: duplicateReferenceIds(ledger),
    conflicts: ledger.counts.conflicts,
  };
}

/** Resolves after `ms`; for pacing load and kills, never to decide a result. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
