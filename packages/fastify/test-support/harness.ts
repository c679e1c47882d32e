// Test helpers for @pacspace-metering/fastify: a Fastify app listening on 127.0.0.1:0, tracked like
// the Express harness's apps (done responses, close). Not part of the published package.
import type { FastifyInstance } from 'fastify';
import { trackResponses, type RunningApp } from '../../express/test-support/harness.js';

export { abortMidResponse, recordingMeter, waitFor, type RunningApp } from '../../express/test-support/harness.js';

/** Readies `app`, listens on 127.0.0.1 port 0, and counts the responses done; `close` closes the app. */
export async function listenFastify(app: FastifyInstance): Promise<RunningApp> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return trackResponses(app.server, () => app.close());
}

/** GETs (or sends `init`) and reads the body; resolves with the status, the echoed request id and the body. */
export async function call(running: RunningApp, path: string, init?: RequestInit): Promise<{ status: number; requestId: string | null; body: string }> {
  const res = await fetch(running.url + path, init);
  return { status: res.status, requestId: res.headers.get('x-request-id'), body: await res.text() };
}
