import { subscribe } from 'node:diagnostics_channel';
import { Server as HttpServer, type ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';

type Done = () => unknown;

/**
 * The callbacks waiting for a response to finish. A WeakMap: an aborted response never finishes,
 * and its entry goes with it.
 */
const waiting = new WeakMap<ServerResponse, Done | Done[]>();
let subscribed = false;

/**
 * Node's http(s) server publishes every response's `finish` (every byte handed to the OS) on this
 * channel, once, synchronously in its own `finish` handler; an aborted response is never published.
 */
const FINISH_CHANNEL = 'http.server.response.finish';

function onFinish(message: unknown): void {
  const response = (message as { response: ServerResponse }).response;
  const done = waiting.get(response);
  if (done === undefined) return;
  waiting.delete(response);
  if (typeof done === 'function') done();
  else for (const each of done) each();
}

/**
 * Calls `done` once when `res` finishes (fully written; never for an aborted response), through
 * one process-wide `diagnostics_channel` subscriber instead of a listener per response: a listener
 * on Express's `res` costs a hello-world ~4% of its instructions, this a fraction of that. Answers
 * false, and does nothing, when the channel would not tell: `res` is not (or no longer) attached to
 * a socket of Node's http or https server (serverless-http's stand-in, HTTP/2's compatibility
 * response, a response queued behind a pipelined one, one already finished); the caller then
 * listens to the response itself. `done` must not throw (the channel would rethrow it as an
 * uncaught exception, as a throwing listener would).
 *
 * @example
 * if (!watchServerFinish(res, bill)) res.on('close', () => { if (responseFinished(res)) bill(); });
 */
export function watchServerFinish(res: ServerResponse, done: Done): boolean {
  const server: unknown = (res.socket as { server?: unknown } | null)?.server;
  if (!(server instanceof HttpServer || server instanceof HttpsServer)) return false;
  if (!subscribed) {
    subscribe(FINISH_CHANNEL, onFinish);
    subscribed = true;
  }
  const before = waiting.get(res);
  waiting.set(res, before === undefined ? done : typeof before === 'function' ? [before, done] : [...before, done]);
  return true;
}

