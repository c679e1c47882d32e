// Issue 20, item 16: a body over maxBodyBytes must reach its 413, not a connection reset. Most HTTP
// clients (the official Python SDK's httpx, Node's fetch) send the whole body before they read the
// answer; a server that answers and closes while the upload is still coming makes the kernel reset
// the connection, and the 413 is lost with it. These tests use a raw TCP socket that behaves like
// such a client: it writes the whole body, slowly, and only then reads.
import { connect, type Socket } from 'node:net';
import { discardLimit } from './http-io.js';
import { startSandbox, type Sandbox } from './index.js';
import { DELTA, delta } from './test-helpers.js';

const LIMIT = 64 * 1024;
let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ maxBodyBytes: LIMIT });
});
afterAll(() => sb.close());
beforeEach(() => sb.reset());

interface RawExchange {
  /** The first error a write met (EPIPE, ECONNRESET), if any: the upload did not get through. */
  writeError: string | undefined;
  /** Everything read after the upload, as text. */
  response: string;
}

/**
 * Sends `head` and then `chunks` one by one, each after the previous one was handed to the kernel
 * and a macrotask later (a slow uploader), and reads nothing until the last chunk is written, as a
 * send-then-read client does. Then reads the answer until the server ends the connection, or until
 * one whole HTTP response arrived on a connection the server keeps open.
 */
async function uploadThenRead(head: string, chunks: Iterable<Buffer>): Promise<RawExchange> {
  const socket = connect(sb.port, '127.0.0.1');
  socket.pause(); // read nothing until the body is sent
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let writeError: string | undefined;
  socket.on('error', (err: NodeJS.ErrnoException) => void (writeError ??= err.code));
  const write = (data: string | Buffer): Promise<void> =>
    new Promise((resolve) => socket.write(data, (err) => (err ? ((writeError ??= (err as NodeJS.ErrnoException).code), resolve()) : setImmediate(resolve))));
  await write(head);
  for (const chunk of chunks) {
    if (writeError !== undefined || socket.destroyed) break;
    await write(chunk);
  }
  const response = await readResponse(socket);
  socket.destroy();
  return { writeError, response };
}

/** Reads until the server ends the connection or one complete response (headers + Content-Length body) is in. */
function readResponse(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    if (socket.destroyed) return resolve(text); // reset while uploading: nothing can be read
    const complete = (): boolean => {
      const split = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text.slice(0, split));
      return split !== -1 && length !== null && Buffer.byteLength(text.slice(split + 4)) >= Number(length[1]);
    };
    const done = (): void => resolve(text);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (complete()) done();
    });
    socket.once('end', done);
    socket.once('close', done);
    socket.resume();
  });
}

function head(contentLength: number | 'chunked'): string {
  const framing = contentLength === 'chunked' ? 'transfer-encoding: chunked' : `content-length: ${contentLength}`;
  return `POST ${DELTA} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-api-key: ${sb.apiKey}\r\n${framing}\r\n\r\n`;
}

/** `total` bytes of JSON-ish filler in `size`-byte pieces. */
function* pieces(total: number, size: number): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += size) yield Buffer.alloc(Math.min(size, total - sent), 'x');
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
const bodyOf = (response: string): any => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));

describe('a body over maxBodyBytes (raw socket, send-then-read client)', () => {
  it('reads the 413 after uploading four times the limit slowly, with a declared Content-Length', async () => {
    const total = 4 * LIMIT;
    const exchange = await uploadThenRead(head(total), pieces(total, 8 * 1024));
    expect(exchange.writeError).toBeUndefined();
    expect(statusOf(exchange.response)).toBe(413);
    expect(bodyOf(exchange.response)).toMatchObject({ success: false, statusCode: 413, error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(sb.ledger().deltas).toHaveLength(0);
    expect(sb.ledger().requests).toMatchObject([{ status: 413, outcome: 'invalid' }]);
  });

  it('reads the 413 after a chunked upload over the limit, on a connection the server keeps open', async () => {
    const chunked = [...pieces(2 * LIMIT, 4 * 1024)].map((piece) => Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
    const exchange = await uploadThenRead(head('chunked'), [...chunked, Buffer.from('0\r\n\r\n')]);
    expect(exchange.writeError).toBeUndefined();
    expect(statusOf(exchange.response)).toBe(413);
    expect(bodyOf(exchange.response).error.code).toBe('PAYLOAD_TOO_LARGE');
    // The body was read to its end, so the server had no reason to close: keep-alive, no reset.
    expect(exchange.response).not.toMatch(/\r\nconnection: close\r\n/i);
  });

  it('ten fetch() clients each get the 413 for a body 16 times the limit, none a reset', async () => {
    const body = JSON.stringify(delta({ metadata: { pad: 'x'.repeat(16 * LIMIT) } }));
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(sb.url + DELTA, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': sb.apiKey }, body }).then(
          async (res) => `${res.status} ${(await res.json()).error.code}`,
          (err: Error & { cause?: NodeJS.ErrnoException }) => `failed: ${err.cause?.code ?? err.message}`,
        ),
      ),
    );
    expect(outcomes).toEqual(Array(10).fill('413 PAYLOAD_TOO_LARGE'));
  });

  it('stops reading an upload that goes on far past the limit: the 413 goes out at once and the connection closes', async () => {
    // Declared far beyond what the sandbox will discard: no reason to read a byte of it.
    const socket = connect(sb.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.on('error', () => undefined);
    socket.write(head(1024 * 1024 * 1024));
    const response = await readResponse(socket);
    socket.destroy();
    expect(statusOf(response)).toBe(413);
    expect(response).toMatch(/\r\nconnection: close\r\n/i);
    expect(bodyOf(response).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('stops reading an endless chunked upload past discardLimit(), answers 413 and closes the connection', async () => {
    const socket = connect(sb.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let closed = false;
    socket.on('error', () => undefined).on('close', () => (closed = true));
    socket.resume(); // this client reads while it sends; what it reads is not the point here
    socket.write(head('chunked'));
    const piece = Buffer.concat([Buffer.from(`${(64 * 1024).toString(16)}\r\n`), Buffer.alloc(64 * 1024, 'x'), Buffer.from('\r\n')]);
    let sent = 0;
    // Four times the point where the sandbox gives up: it must have closed long before.
    while (!closed && sent < 4 * discardLimit(LIMIT)) {
      await new Promise<void>((resolve) => socket.write(piece, () => setImmediate(resolve)));
      sent += piece.length;
    }
    socket.destroy();
    expect(closed).toBe(true);
    expect(sent).toBeLessThan(4 * discardLimit(LIMIT));
    expect(sb.ledger().requests).toMatchObject([{ status: 413, outcome: 'invalid' }]);
  });
});
