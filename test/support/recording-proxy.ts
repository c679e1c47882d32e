import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that passed through the proxy. */
export interface ProxiedRequest {
  path: string;
  idempotencyKey: string | null;
  /** SHA-256 of the body, hex. */
  bodyHash: string;
  /** `deltas.length` of a batch body, 1 for a single delta. */
  items: number;
  /** The status the client got, or 0 when its connection was dropped. */
  status: number;
}

/**
 * What the proxy does with one request instead of passing it through:
 * - `{ status, body }`: answers itself, `body` as JSON (or as it is, with `contentType`, e.g. an
 *   HTML error page from a load balancer or a WAF);
 * - `'forward-then-cut'`: passes it on and lets PacSpace commit it, then drops the client's
 *   connection without an answer (the answer was lost on the way back).
 */
export type ProxyAction = { status: number; body: unknown; contentType?: string } | 'forward-then-cut';

/** What `answer` sees of a request: its path, its record so far and its body. */
export interface ProxyExchange {
  record: ProxiedRequest;
  body: string;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the sandbox that records what the Meter really sent
 * (key, body hash, item count) and passes everything through, dropped connections included (a
 * reset or a commit-then-drop at the sandbox drops the client's connection too). `answer` can
 * answer a request itself instead, e.g. to play a server without the batch endpoint, a proxy's
 * HTML 404 or a WAF's 403, or lose PacSpace's answer on the way back (see {@link ProxyAction}).
 *
 * @example
 * const proxy = await startRecordingProxy(sandbox.url);
 * createMeter({ apiKey: sandbox.apiKey, baseUrl: proxy.url });
 */
export interface RecordingProxy {
  readonly url: string;
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string, answer?: (path: string, exchange: ProxyExchange) => ProxyAction | undefined): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];

  function forward(req: IncomingMessage, res: ServerResponse, record: ProxiedRequest, body: Buffer, cut: boolean): void {
    const onward = request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (reply) => {
      if (cut) {
        // PacSpace answered (and committed); the answer never reaches the client.
        reply.resume();
        reply.on('end', () => req.socket.destroy());
        return;
      }
      record.status = reply.statusCode ?? 0;
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
      reply.on('error', () => req.socket.destroy());
    });
    onward.on('error', () => {
      record.status = 0;
      req.socket.destroy();
    });
    onward.end(body);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const key = req.headers['idempotency-key'];
      const record: ProxiedRequest = { path: req.url ?? '', idempotencyKey: typeof key === 'string' ? key : null, bodyHash: createHash('sha256').update(body).digest('hex'), items: itemCount(body), status: 0 };
      requests.push(record);
      const own = answer?.(record.path, { record, body: body.toString('utf8') });
      if (own === 'forward-then-cut') return forward(req, res, record, body, true);
      if (own) {
        record.status = own.status;
        const text = own.contentType === undefined ? JSON.stringify(own.body) : String(own.body);
        res.writeHead(own.status, { 'content-type': own.contentType ?? 'application/json' }).end(text);
        return;
      }
      forward(req, res, record, body, false);
    });
  }

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function itemCount(body: Buffer): number {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { deltas?: unknown[] };
    return Array.isArray(parsed.deltas) ? parsed.deltas.length : 1;
  } catch {
    return 0;
  }
}
