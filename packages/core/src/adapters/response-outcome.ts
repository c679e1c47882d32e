import type { ServerResponse } from 'node:http';

/** How an HTTP response ended: fully written (`finished`) or cut off before that (`aborted`). */
export type ResponseOutcome = 'finished' | 'aborted';

/**
 * Whether a response was fully written: `writableFinished` (`finish` happened: every byte handed
 * to the OS). A response that serverless-http (or serverless-express) builds for a Lambda event
 * writes into a stand-in "socket" that takes each chunk at once but is no stream: it has no
 * `writableLength`, so Node never reports `writableFinished` there although `finish` is emitted.
 * Such a response counts as finished once it was ended with nothing left buffered. On a real
 * socket the answer is `writableFinished` alone, so an aborted response never passes.
 *
 * @example
 * res.on('close', () => { if (responseFinished(res) && res.statusCode < 400) bill(); });
 */
export function responseFinished(res: ServerResponse): boolean {
  if (res.writableFinished) return true;
  const socket = res.socket as { writableLength?: unknown } | null;
  return res.writableEnded && socket !== null && typeof socket.writableLength !== 'number' && (res as { outputSize?: unknown }).outputSize === 0;
}

/**
 * Calls `done` once, when the response closes: `'finished'` when it was fully handed to the OS
 * first ({@link responseFinished}: `finish` happened), `'aborted'` when the connection closed before that
 * (the client went away or the socket died). Node emits `close` on every server response, right
 * after `finish` or alone on an abort, so one plain listener is enough; it is never removed, since
 * the response is discarded after it. The cheapest correct way measured here: a pair of `once`
 * listeners adds a wrapper and a removal per response, and on-finished costs ~10% of a
 * hello-world's throughput.
 *
 * @example
 * onResponseDone(res, (outcome) => { if (outcome === 'finished' && res.statusCode < 400) bill(); });
 */
export function onResponseDone(res: ServerResponse, done: (outcome: ResponseOutcome) => void): void {
  if (res.writableFinished) {
    queueMicrotask(() => done('finished'));
    return;
  }
  res.on('close', () => done(responseFinished(res) ? 'finished' : 'aborted'));
}

/**
 * Calls `done` once when the handler has completed a response that the client did not abandon
 * first, for billing code that must not lose a delta to a crash. With `atEnd` false: when the
 * response closes fully written (`finish` happened), as {@link onResponseDone}. With `atEnd`
 * true (a durable store): when the handler ends the response (`res.end()`), before its bytes
 * leave, so a SIGKILL between the answer and `finish` cannot lose the delta; a response whose
 * connection was already gone when it was ended (the client aborted) is not called, nor one never
 * ended. `done` runs before `res.end` proper, so the status and headers are final; when it
 * returns a promise (a store that writes behind, see `EnqueueResult.committed`), the response is
 * ended once it settles.
 *
 * @example
 * onResponseCompleted(res, meter.durable === true, () => { if (res.statusCode < 400) meter.enqueue(delta); });
 */
export function onResponseCompleted(res: ServerResponse, atEnd: boolean, done: () => void | PromiseLike<unknown>): void {
  if (!atEnd) {
    res.on('close', () => {
      if (responseFinished(res)) done();
    });
    return;
  }
  const end = res.end;
  // Replaced on this response only (a property write per request, paid only with a durable store).
  res.end = function endAfterAccepting(this: ServerResponse, ...args: unknown[]) {
    res.end = end;
    const finish = () => (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    const accepted = res.destroyed ? undefined : done();
    if (accepted === undefined || typeof (accepted as PromiseLike<unknown>)?.then !== 'function') return finish();
    // A store that writes behind: the answer leaves once the delta is durable (or known not to be).
    (accepted as PromiseLike<unknown>).then(finish, finish);
    return this;
  } as ServerResponse['end'];
}

/** Where on a request the keys it was already metered under are kept; `Symbol.for` so every copy of this library agrees. */
const METERED = Symbol.for('pacspace-metering.metered');

/** The keys a request was claimed under: the first one alone (the common case, no allocation), a Set from the second on. */
type Claims = { [METERED]?: string | Set<string> };

/**
 * Claims `key` (normally the referenceId) for this request: true the first time, false after, so
 * a request passing through two meters (middleware twice, middleware and decorator) with the same
 * reason is counted once.
 *
 * @example
 * if (claimOnce(req, referenceId)) meter.enqueue(delta);
 */
export function claimOnce(req: object, key: string): boolean {
  const holder = req as Claims;
  const claimed = holder[METERED];
  if (claimed === undefined) {
    holder[METERED] = key;
    return true;
  }
  if (isClaimed(req, key)) return false;
  if (typeof claimed === 'string') holder[METERED] = new Set([claimed, key]);
  else claimed.add(key);
  return true;
}

/**
 * The key under which a request is claimed for one meter, reason and customer: a request is billed
 * once per (scope, reason, customer), whichever of the framework packages' paths sees it first.
 * Cheaper than the referenceId (which the Meter builds from the request id) and, within one
 * request, equivalent to it.
 *
 * @example
 * if (claimOnce(res.locals, claimKey(meter.scope, 'api_request', 'acme'))) meter.enqueue(delta);
 */
export function claimKey(scope: string, reason: string, customerId: string): string {
  return `${scope}\n${reason}\n${customerId}`;
}

/**
 * Whether `key` was already claimed for this request with {@link claimOnce}, without claiming it.
 *
 * @example
 * if (!isClaimed(req, referenceId)) meter.enqueue(delta); // someone else may still bill it
 */
export function isClaimed(req: object, key: string): boolean {
  const claimed = (req as Claims)[METERED];
  return claimed === key || (typeof claimed === 'object' && claimed.has(key));
}

/** Whether anything was claimed for this request yet (cheaper than building a key to ask {@link isClaimed}). */
export function hasClaims(req: object): boolean {
  return (req as Claims)[METERED] !== undefined;
}
