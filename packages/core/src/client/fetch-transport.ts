import { PacSpaceApiError } from '../errors.js';
import { networkError, parseAnswer, requestHeaders, timeoutError, type ApiAnswer, type HttpTransport, type HttpTransportOptions } from './http-transport.js';
import { keyRedactor } from './redact.js';

/**
 * The transport on the global `fetch`, for runtimes where `fetch` is the HTTP client (Bun, Deno,
 * Cloudflare Workers, edge runtimes); Node has it too. Same requests as the node:http transport
 * (headers, body bytes, `Idempotency-Key`) and the same answers: the response goes through the
 * same envelope reading (`parseAnswer`), with the key redacted from the body first. One
 * `AbortSignal` per attempt is its absolute deadline, covering connect, headers and body. Redirects
 * are not followed (node:http does not follow them either), so a 3xx is an answer, not a hop.
 * `close()` aborts what is in flight, as the node transport's `agent.destroy()` does.
 */
export function createFetchTransport(options: Omit<HttpTransportOptions, 'maxSockets'>): HttpTransport {
  const origin = options.baseUrl.origin + options.baseUrl.pathname.replace(/\/+$/, '');
  const redact = keyRedactor(options.apiKey);
  const inFlight = new Set<AbortController>();

  async function request(method: 'GET' | 'POST', path: string, body: string | undefined, idempotencyKey: string | undefined, timeoutMs: number): Promise<ApiAnswer> {
    const controller = new AbortController();
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    // Node's timers have unref(); Workers' and Deno's are plain numbers.
    deadline.unref?.();
    inFlight.add(controller);
    try {
      const res = await fetch(origin + path, { method, headers: requestHeaders(options, body, idempotencyKey), body, signal: controller.signal, redirect: 'manual' });
      // The body is read under the same deadline: an abort rejects this read too.
      const text = await res.text();
      // A server that echoes the key must not hand it to our errors, hooks or logs.
      return parseAnswer(res.status, Object.fromEntries(res.headers), redact(text), path);
    } catch (err) {
      if (err instanceof PacSpaceApiError) throw err;
      if (timedOut) throw timeoutError(method, path, timeoutMs);
      // fetch's own error is a bare "fetch failed"; the socket's reason (ECONNRESET, ...) is its cause.
      throw networkError(path, (err as { cause?: unknown }).cause ?? err);
    } finally {
      clearTimeout(deadline);
      inFlight.delete(controller);
    }
  }

  return {
    request,
    close: () => {
      for (const controller of inFlight) controller.abort();
    },
  };
}
