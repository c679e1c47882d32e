import { createDefaultReporter, onResponseCompleted, type DrainReport, type Meter } from '@pacspace-metering/core';
import type { ServerResponse } from 'node:http';
import type { AdapterConfig } from './options.js';

/** What happens once a response's fate is known: `bill` runs only for one delivered in full. */
export interface Watch {
  response: Response;
  /** Node's response, when the server is @hono/node-server (its bindings carry `outgoing`). */
  outgoing: unknown;
  /** The request's `waitUntil`, when its runtime freezes after the response. */
  waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  /** Decides and enqueues; a promise when the store writes behind (the end of the body waits for it). */
  bill: () => Promise<boolean> | undefined;
}

/** One reporter for every adapter: repeats of the same warning are summed once a minute. */
let reporter: ReturnType<typeof createDefaultReporter> | undefined;

/**
 * Watches one response until it counts as delivered, and returns the Response to answer with:
 *
 * - On Node (@hono/node-server), as the Express middleware does: billed when Node's response has
 *   finished (every byte handed to the OS), or, with a durable store, when the server ends it;
 *   never when the connection closed first.
 * - Elsewhere (Bun, Deno, Workers, any fetch server), a response with a body is billed when the
 *   server has read that body to its end; the body is passed through a stream that sees the end
 *   (and, with a durable store, holds it back until the delta is stored). A server that cancels
 *   the body (the client went away) or a body that errors is not billed. A response without a
 *   body is billed when the handler returns it.
 *
 * With a `waitUntil`, the outcome and then a `meter.flush()` are handed to it, so a runtime that
 * freezes after the response (Workers) still delivers.
 */
export function watchDelivery(meter: Meter, config: AdapterConfig, watch: Watch): Response {
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const billOnce = () => {
    try {
      return watch.bill();
    } finally {
      settle();
    }
  };
  let response = watch.response;
  if (isNodeResponse(watch.outgoing)) {
    onResponseCompleted(watch.outgoing, meter.durable === true, billOnce);
    watch.outgoing.once('close', settle);
  } else if (response.body === null || response.bodyUsed) {
    billOnce();
  } else {
    response = new Response(observedBody(response.body, billOnce, settle), response);
  }
  const waitUntil = config.waitUntil ?? watch.waitUntil;
  if (waitUntil !== undefined) waitUntil(outcomeOrTimeout(settled, config.flushTimeoutMs).then(() => flushAndReport(meter, config)));
  return response;
}

/**
 * `settled`, or `ms` later if a server never reads nor cancels the body, so the promise handed to
 * `waitUntil` always ends. (The request's `signal` is not used: Deno aborts it on every response
 * and warns whoever reads it.)
 */
function outcomeOrTimeout(settled: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}

/** Delivers what is queued within `flushTimeoutMs`; reports what is left. Never rejects. */
async function flushAndReport(meter: Meter, config: AdapterConfig): Promise<void> {
  let report: DrainReport;
  try {
    report = await meter.flush({ timeoutMs: config.flushTimeoutMs });
  } catch {
    return; // a closed meter has nothing to flush
  }
  if (config.onFlush !== undefined) {
    try {
      config.onFlush(report);
    } catch {
      // A failing hook must not turn into an unhandled rejection in waitUntil.
    }
    return;
  }
  if (report.pending > 0) {
    (reporter ??= createDefaultReporter()).warn(
      { pending: report.pending },
      `pacspace-metering: usage deltas still queued when the waitUntil flush ended (${config.flushTimeoutMs} ms); they go with a later request's flush, or are lost if this isolate is evicted first`,
    );
  }
}

/**
 * `body`, read through: `ended` runs once the server has read it to its end (before the end is
 * passed on, so a store's promise can hold it back), `gone` when the server cancels it or it
 * errors. Pull-based with no buffer of its own, so "read to the end" means what it says.
 */
function observedBody(body: ReadableStream<Uint8Array>, ended: () => PromiseLike<unknown> | undefined, gone: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  // Cancelling the source ends a read under way with `done`: that end is the client's, not the body's.
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          gone();
          controller.error(err);
          return;
        }
        if (cancelled) return;
        if (!chunk.done) return controller.enqueue(chunk.value);
        const accepted = ended();
        if (accepted !== undefined) await accepted.then(undefined, () => undefined);
        controller.close();
      },
      cancel(reason) {
        cancelled = true;
        gone();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function isNodeResponse(value: unknown): value is ServerResponse {
  const res = value as Partial<ServerResponse> | null | undefined;
  return typeof res === 'object' && res !== null && typeof res.once === 'function' && typeof res.end === 'function' && typeof res.writableFinished === 'boolean';
}
