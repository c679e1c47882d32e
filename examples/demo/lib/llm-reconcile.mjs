// Reconciles examples/llm-api: per customer, the tokens the app sent (its `completion` log lines)
// against the tokens PacSpace committed (the sandbox ledger, by reason), request by request: each
// served answer's input and output tokens billed once under its own referenceId, cache hits and
// bad requests billed nothing, a cut stream billed for what was sent before the cut.
import { buildReferenceId } from '@pacspace-metering/core';

const REASONS = ['input_tokens', 'output_tokens'];

/** referenceId -> { customerId, reason, delta } of what the app's log says it sent. */
function expectedDeltas(events, scope) {
  const expected = new Map();
  for (const e of events) {
    if (e.event !== 'completion' || e.cached) continue;
    for (const [reason, units] of [['input_tokens', e.inputTokens], ['output_tokens', e.outputTokens]]) {
      if (units > 0) expected.set(buildReferenceId({ scope, operation: reason, customerId: e.customerId, requestId: e.requestId }), { customerId: e.customerId, reason, delta: -units });
    }
  }
  return expected;
}

/** One row per customer; `ok` when every token sent was billed once and nothing else was. */
export function reconcileTokens({ scope, events, calls, ledger }) {
  const expected = expectedDeltas(events, scope);
  const committed = ledger.deltas.filter((d) => d.referenceId?.startsWith(`${scope}:`));
  const seen = new Map();
  for (const d of committed) seen.set(d.referenceId, (seen.get(d.referenceId) ?? 0) + 1);
  const customers = [...new Set([...calls.map((c) => c.customerId), ...committed.map((d) => d.customerId)])].sort();
  return customers.map((customerId) => {
    const served = events.filter((e) => e.event === 'completion' && e.customerId === customerId);
    const mine = committed.filter((d) => d.customerId === customerId);
    const sum = (reason, list, pick) => list.filter((x) => x.reason === reason).reduce((total, x) => total + pick(x), 0);
    const sent = Object.fromEntries(REASONS.map((r) => [r, served.reduce((t, e) => t + (e.cached ? 0 : r === 'input_tokens' ? e.inputTokens : e.outputTokens), 0)]));
    const billed = Object.fromEntries(REASONS.map((r) => [r, -sum(r, mine, (d) => d.delta)]));
    // What clients received of paid answers (a cut stream may have sent more than its client read).
    const cachedIds = new Set(served.filter((e) => e.cached).map((e) => e.requestId));
    const received = calls.filter((c) => c.customerId === customerId && !cachedIds.has(c.requestId)).reduce((t, c) => t + c.received, 0);
    const expectedIds = [...expected].filter(([, e]) => e.customerId === customerId);
    const missing = expectedIds.filter(([id, e]) => !mine.some((d) => d.referenceId === id && d.delta === e.delta)).length;
    const unexpected = mine.filter((d) => !expected.has(d.referenceId)).length;
    const duplicates = mine.filter((d) => seen.get(d.referenceId) > 1).length;
    const row = {
      customer: customerId,
      answers: served.length,
      cacheHits: served.filter((e) => e.cached).length,
      cutStreams: served.filter((e) => e.stream === 'aborted').length,
      inputSent: sent.input_tokens,
      inputBilled: billed.input_tokens,
      outputSent: sent.output_tokens,
      outputBilled: billed.output_tokens,
      outputReceived: received,
      duplicates,
      missing,
      unexpected,
    };
    const ok = sent.input_tokens === billed.input_tokens && sent.output_tokens === billed.output_tokens && duplicates === 0 && missing === 0 && unexpected === 0 && received <= sent.output_tokens;
    return { ...row, ok };
  });
}
