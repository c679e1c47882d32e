// Test helpers for @pacspace-metering/express: real servers on 127.0.0.1:0, a meter that records
// what it would send, and a client that aborts mid-response. Not part of the published package.
import { createMeter, type DropEvent, type Meter, type MeterOptions } from '@pacspace-metering/core';
import { createServer, request, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running app and a count of responses that are completely done on the server side. */
export interface RunningApp {
  url: string;
  server: Server;
  /** Responses whose `close` has fired: every `finish`/`close` listener of the app has run. */
  done(): number;
  /** Waits (by state, never by a fixed delay) until `count` responses are done. */
  waitForDone(count: number): Promise<void>;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, port 0: an Express app, or any request listener (@hono/node-server's `getRequestListener`). */
export async function listen(app: RequestListener): Promise<RunningApp> {
  const server = createServer(app);
  let done = 0;
  // Added after the app's own listener, so it runs after Express has started with the request;
  // `close` fires after `finish`, and after every listener the middleware attached.
  server.on('request', (_req, res) => res.once('close', () => done++));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    done: () => done,
    waitForDone: (count) => waitFor(() => done >= count, `${count} responses done (have ${done})`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the recording client was asked to send. */
export interface SentDelta {
  customerId: string;
  delta: number;
  reason: string;
  referenceId: string;
  metadata: Record<string, unknown> | undefined;
}

/** A Meter whose SDK-shaped client records every delta and answers "committed". */
export function recordingMeter(options: MeterOptions = {}): { meter: Meter; sent: SentDelta[]; drops: DropEvent[]; errors: Error[] } {
  const sent: SentDelta[] = [];
  const drops: DropEvent[] = [];
  const errors: Error[] = [];
  const client = {
    balance: {
      emit: async (customerId: string, delta: number, reason: string, opts: { referenceId: string; metadata?: Record<string, unknown> }) => {
        sent.push({ customerId, delta, reason, referenceId: opts.referenceId, metadata: opts.metadata });
        return { status: 'committed', recordId: `rec_${sent.length}` };
      },
    },
  };
  const meter = createMeter({
    client,
    scope: 'test',
    onDrop: (event) => void drops.push(event),
    onError: (error) => void errors.push(error),
    ...options,
  });
  return { meter, sent, drops, errors };
}

/** Polls `check` until it is true; fails naming `what` after `timeoutMs`. For state, never for speed. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * GETs `url`, reads the response headers and the first body chunk, then destroys the socket: the
 * client went away mid-response. Resolves with the headers once the socket is closed.
 */
export function abortMidResponse(url: string, headers: Record<string, string> = {}): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers }, (res) => {
      res.once('data', () => {
        req.destroy();
      });
      res.once('error', () => undefined);
    });
    req.once('error', () => undefined);
    req.once('close', () => resolve(req.res?.headers ?? {}));
    req.once('timeout', () => reject(new Error('timeout')));
    req.end();
  });
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
