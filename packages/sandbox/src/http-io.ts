import type { IncomingMessage, ServerResponse } from 'node:http';
import { isPlainObject } from './config-error.js';
import { errorReply, validationError, type Drop, type Reply } from './envelope.js';

/** Bytes of an oversized upload read (and thrown away) before the 413, at least: see {@link discardLimit}. */
const MIN_DISCARD_BYTES = 4 * 1024 * 1024;

/**
 * How much of an upload over `limit` is still read, and thrown away, so that the client gets its
 * 413: most clients send the whole body before they read the answer, and a server that answers
 * and closes while the upload is still coming makes the kernel reset the connection, losing the
 * 413 with it. Past this (4 × the limit, at least 4 MiB) the upload is not worth reading: the 413
 * goes out at once and the connection closes.
 */
export function discardLimit(limit: number): number {
  return Math.max(4 * limit, MIN_DISCARD_BYTES);
}

/**
 * The raw body, or a marker: over the limit (read to its end and discarded), far over it (reading
 * stopped: answer and close), or the client went away. Never holds more than `limit` bytes.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string | typeof TOO_LARGE | typeof FAR_TOO_LARGE | typeof ABORTED> {
  const declared = Number(req.headers['content-length']);
  const readUpTo = discardLimit(limit);
  if (declared > readUpTo) return Promise.resolve(FAR_TOO_LARGE);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > readUpTo) {
        req.off('data', onData);
        resolve(FAR_TOO_LARGE);
      } else if (size <= limit) {
        chunks.push(chunk);
      }
    };
    req.on('data', onData);
    req.on('end', () => {
      if (size > limit) resolve(TOO_LARGE);
      else resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => resolve(ABORTED));
  });
}

/** The body was over the limit and was read to its end: answer 413, the connection stays usable. */
export const TOO_LARGE = Symbol('too-large');
/** The body went past {@link discardLimit}: answer 413 and close the connection. */
export const FAR_TOO_LARGE = Symbol('far-too-large');
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
  if (text === TOO_LARGE || text === FAR_TOO_LARGE) {
    const tooLarge = errorReply(413, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${maxBodyBytes} bytes.`, 'invalid');
    return { reply: text === FAR_TOO_LARGE ? { ...tooLarge, close: true } : tooLarge };
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
