// What every consumer app must do over HTTP: bill a success once, not bill a 4xx, and deliver
// what is queued when SIGTERM arrives (then exit 0). Conditions are awaited, never timed.
import { within } from './processes.mjs';

/** Calls of the SIGTERM check, answered before the signal is sent. */
const CALLS_BEFORE_SIGTERM = 5;

async function get(url, account) {
  const res = await fetch(url, { headers: { 'x-account': account } });
  await res.arrayBuffer();
  return res.status;
}

function expectEqual(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

async function waitUntil(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const deltasOf = (ledger, account) => ledger.deltas.filter((d) => d.customerId === account);

/**
 * Runs the three checks against a started app; resolves with what was seen, throws naming the
 * first check that failed.
 *
 * @example
 * const seen = await checkApp({ appUrl, app, sandbox, account: 'acct-express4' });
 * // { billedOnce: true, clientErrorBilled: false, flushed: 5, deliveredAfterSigterm: 5, exit: { code: 0, signal: null } }
 */
export async function checkApp({ appUrl, app, sandbox, account }) {
  // A 4xx first, then a 2xx: a delta for the 4xx would be queued before the 2xx's and so be in the
  // ledger by the time the 2xx's delta is.
  expectEqual(await get(`${appUrl}/reports/missing`, account), 404, 'GET /reports/missing status');
  expectEqual(await get(`${appUrl}/reports/r-1`, account), 200, 'GET /reports/r-1 status');
  await waitUntil(async () => deltasOf(await sandbox.ledger(), account).length >= 1, 30_000, "the 2xx call's delta in the sandbox ledger");
  const first = deltasOf(await sandbox.ledger(), account);
  expectEqual(first.length, 1, 'deltas billed for one 2xx and one 4xx call');
  expectEqual(first[0].delta, -1, 'the delta of a call');
  expectEqual(first[0].metadata?.route, '/reports/:id', "the delta's metadata.route");

  const statuses = await Promise.all(Array.from({ length: CALLS_BEFORE_SIGTERM }, (_, i) => get(`${appUrl}/reports/flush-${i}`, account)));
  expectEqual(statuses.join(), Array(CALLS_BEFORE_SIGTERM).fill(200).join(), 'statuses of the calls before SIGTERM');
  // Informational only (how much the shutdown itself delivered); it never decides the result.
  const deliveredBeforeSigterm = deltasOf(await sandbox.ledger(), account).length - 1;
  app.child.kill('SIGTERM');
  const exit = await within(app.exited, 60_000, 'the app to exit after SIGTERM');
  if (exit.code !== 0) throw new Error(`the app exited with ${JSON.stringify({ code: exit.code, signal: exit.signal })} after SIGTERM, not 0; output:\n${app.output().split('\n').slice(-15).join('\n')}`);
  const all = deltasOf(await sandbox.ledger(), account);
  expectEqual(all.length, 1 + CALLS_BEFORE_SIGTERM, 'deltas in the ledger once the app exited after SIGTERM');
  const referenceIds = new Set(all.map((d) => d.referenceId));
  expectEqual(referenceIds.size, all.length, 'distinct referenceIds among the billed deltas');
  return { billedOnce: true, clientErrorBilled: false, flushed: CALLS_BEFORE_SIGTERM, deliveredAfterSigterm: CALLS_BEFORE_SIGTERM - deliveredBeforeSigterm, exit };
}
