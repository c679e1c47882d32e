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
 * An HTTP proxy on 127.0.0.1 in front of the sandbox that records what the Meter really sent
 * (key, body hash, item count) and passes everything through, dropped connections included (a
 * reset or a commit-then-drop at the sandbox drops the client's connection too). `answer` can
 * answer a request itself instead, e.g. to play a server without the batch endpoint.
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

export async function startRecordingProxy(target: string, answer?: (path: string) => { status: number; body: unknown } | undefined): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const key = req.headers['idempotency-key'];
      const record: ProxiedRequest = { path: req.url ?? '', idempotencyKey: typeof key === 'string' ? key : null, bodyHash: createHash('sha256').update(body).digest('hex'), items: itemCount(body), status: 0 };
      requests.push(record);
      const own = answer?.(record.path);
      if (own) {
        record.status = own.status;
        res.writeHead(own.status, { 'content-type': 'application/json' }).end(JSON.stringify(own.body));
        return;
      }
      const forward = request(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (reply) => {
          record.status = reply.statusCode ?? 0;
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
          reply.on('error', () => req.socket.destroy());
        },
      );
      forward.on('error', () => {
        record.status = 0;
        req.socket.destroy();
      });
      forward.end(body);
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
