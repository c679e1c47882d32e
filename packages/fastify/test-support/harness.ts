// Test helpers for @pacspace-metering/fastify: a Fastify app served on 127.0.0.1:0 by the Express
// harness's server (which counts the responses done), through Fastify's own request router
// (`app.routing`, what Fastify's server calls). Not part of the published package.
import type { FastifyInstance } from 'fastify';
import type { RequestListener } from 'node:http';
import { listen, type RunningApp } from '../../express/test-support/harness.js';

export { abortMidResponse, recordingMeter, waitFor, type RunningApp } from '../../express/test-support/harness.js';

/**
 * The request listener of `app`: Fastify's router, once the app is ready (requests that come
 * earlier wait for it). Fastify 4 and 5 alike.
 */
export function fastifyListener(app: FastifyInstance): RequestListener {
  const ready = app.ready();
  return (req, res) => void ready.then(() => app.routing(req, res));
}

/** Readies `app`, serves it on 127.0.0.1 port 0, and counts the responses done; `close` closes both. */
export async function listenFastify(app: FastifyInstance): Promise<RunningApp> {
  await app.ready();
  const running = await listen(fastifyListener(app));
  return {
    ...running,
    close: async () => {
      await running.close();
      await app.close();
    },
  };
}

/** GETs (or sends `init`) and reads the body; resolves with the status, the echoed request id and the body. */
export async function call(running: RunningApp, path: string, init?: RequestInit): Promise<{ status: number; requestId: string | null; body: string }> {
  const res = await fetch(running.url + path, init);
  return { status: res.status, requestId: res.headers.get('x-request-id'), body: await res.text() };
}
