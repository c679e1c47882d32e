import type { IncomingMessage, ServerResponse } from 'node:http';
import { isPlainObject } from './config-error.js';
import { errorReply, validationError, type Drop, type Reply } from './envelope.js';

/** The raw body, or a marker: it exceeded the limit (reading stops at once), or the client went away. */
export function readBody(req: IncomingMessage, limit: number): Promise<string | typeof TOO_LARGE | typeof ABORTED> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // discard the rest; the reply closes the connection
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(ABORTED));
  });
}

export const TOO_LARGE = Symbol('too-large');
export const ABORTED = Symbol('aborted');

/** Writes a reply unless the client (or a stop()) has already gone; says whether it was written. */
export function send(res: ServerResponse, reply: Reply): boolean {
  if (res.destroyed || res.writableEnded) return false;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(reply.body),
    ...reply.headers,
  };
  if (reply.close) headers.connection = 'close';
  res.writeHead(reply.status, headers);
  res.end(reply.body);
  return true;
}

/** Ends the connection without a response: RST for a reset, a plain close for a drop. */
export function drop(req: IncomingMessage, kind: Drop['drop']): void {
  if (kind === 'reset') req.socket.resetAndDestroy();
  else req.socket.destroy();
}

/** A JSON object body (an empty body reads as `{}`), or the 400/413 reply. */
export async function readJson(req: IncomingMessage, maxBodyBytes: number): Promise<{ body: Record<string, unknown> } | { reply: Reply }> {
  const text = await readBody(req, maxBodyBytes);
  if (text === TOO_LARGE) {
    return { reply: { ...errorReply(413, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${maxBodyBytes} bytes.`, 'invalid'), close: true } };
  }
  if (text === ABORTED) return { reply: validationError('body', 'the client closed the connection while sending the body') };
  if (text.trim() === '') return { body: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { reply: validationError('body', 'the request body is not valid JSON') };
  }
  return isPlainObject(parsed) ? { body: parsed } : { reply: validationError('body', 'the request body must be a JSON object') };
}
