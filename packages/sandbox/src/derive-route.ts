import { setTimeout as sleep } from 'node:timers/promises';
import { errorReply, type Reply } from './envelope.js';
import { derive } from './reads.js';
import type { SandboxState } from './state.js';

const CODES: Record<number, string> = { 429: 'RATE_LIMITED', 500: 'INTERNAL_ERROR', 502: 'BAD_GATEWAY', 503: 'SERVICE_UNAVAILABLE', 504: 'GATEWAY_TIMEOUT' };

/**
 * GET /api/v1/balance/derive/:customerId with the `derive` fault applied: its latency first, then
 * its failure (a 429 carries `Retry-After: 1`), else the read itself, at the time it answers.
 */
export async function deriveWithFaults(state: SandboxState, customerId: string, query: string): Promise<Reply> {
  const decision = state.readFaults.decide();
  if (decision.latencyMs > 0) await sleep(decision.latencyMs, undefined, { ref: false });
  const status = decision.failWith;
  if (status !== undefined) {
    const details = status === 429 ? { retryAfterSeconds: 1 } : {};
    const outcome = status === 429 ? 'fault:rate-limit' : 'fault:server-error';
    return { ...errorReply(status, CODES[status]!, `Injected derive failure (${status}).`, outcome, details), customerId };
  }
  return derive(state.ledger, customerId, new URLSearchParams(query), Date.now());
}
