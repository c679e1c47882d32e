import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCheckpoint, customerIdOf, derive, emitBatch, emitDelta, getDelta } from './balance.js';
import { SandboxConfigError, isPlainObject } from './config-error.js';
import { errorReply, reply, validationError, type Drop, type Reply } from './envelope.js';
import { ABORTED, TOO_LARGE, drop, readBody, send } from './http-io.js';
import type { SandboxState } from './state.js';
import { runWrite, type WriteOperation } from './write-pipeline.js';

const BALANCE = '/api/v1/balance/';
const CONTROL = '/_sandbox/';
/** Printable ASCII, bounded: the key is stored and compared as given. */
const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** The server's request listener: route, answer (or drop), then log. */
export async function handleRequest(state: SandboxState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const method = req.method ?? 'GET';
  const keyHeader = req.headers['idempotency-key'];
  const idempotencyKey = typeof keyHeader === 'string' && keyHeader !== '' ? keyHeader : null;

  let result: Reply | Drop;
  try {
    result = await route(state, req, method, path, q === -1 ? '' : url.slice(q + 1), idempotencyKey);
  } catch (err) {
    // Only a bug gets here; report it without request headers (they hold the API key).
    console.error('[pacspace-sandbox] internal error:', err instanceof Error ? err.stack : err);
    result = errorReply(500, 'INTERNAL_ERROR', 'The sandbox hit an internal error.', 'error');
  }
  let status = 0; // stays 0 when no response goes out
  if ('drop' in result) drop(req, result.drop);
  else if (send(res, result)) status = result.status;

  // The control plane is not API traffic: keeping it out of the log keeps test assertions simple.
  if (path.startsWith(CONTROL)) return;
  const entry = { method, path, idempotencyKey, customerId: result.customerId, status, outcome: result.outcome };
  state.ledger.logRequest(result.items ? { ...entry, items: result.items } : entry, Date.now());
}

async function route(
  state: SandboxState,
  req: IncomingMessage,
  method: string,
  path: string,
  query: string,
  idempotencyKey: string | null,
): Promise<Reply | Drop> {
  const control = path.startsWith(CONTROL);
  if (!control && !path.startsWith(BALANCE)) return notFound(method, path);
  if (!state.isAuthorized(req.headers['x-api-key'])) {
    return errorReply(401, 'INVALID_API_KEY', 'The X-Api-Key header is missing or is not a valid API key.', 'unauthorized');
  }
  if (control) return controlRoute(state, req, method, path.slice(CONTROL.length));

  const rest = path.slice(BALANCE.length);
  if (method === 'POST') {
    const write = (op: WriteOperation): Promise<Reply | Drop> => writeRoute(state, req, rest, idempotencyKey, op);
    // Operations read the clock when they run, i.e. after any injected latency.
    if (rest === 'delta') return write((body, key) => emitDelta(state.ledger, body, key, Date.now()));
    if (rest === 'delta/batch') return write((body, key, decision) => emitBatch(state.ledger, body, key, Date.now(), decision));
    if (rest === 'checkpoint') return write((body) => createCheckpoint(state.ledger, body, Date.now()));
  } else if (method === 'GET') {
    const [resource, id, extra] = rest.split('/');
    const param = id === undefined || extra !== undefined ? null : safeDecode(id);
    if (param !== null && resource === 'delta') return getDelta(state.ledger, param);
    if (param !== null && resource === 'derive') return derive(state.ledger, param, new URLSearchParams(query), Date.now());
  }
  return notFound(method, path);
}

/** Body, Idempotency-Key check, then the shared write pipeline. */
async function writeRoute(
  state: SandboxState,
  req: IncomingMessage,
  endpoint: string,
  idempotencyKey: string | null,
  operation: WriteOperation,
): Promise<Reply | Drop> {
  const parsed = await readJson(state, req);
  if ('reply' in parsed) return parsed.reply;
  const customerId = customerIdOf(parsed.body);
  if (idempotencyKey !== null && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
    return { ...validationError('Idempotency-Key', 'the Idempotency-Key header must be 1-255 printable ASCII characters'), customerId };
  }
  return runWrite(state, endpoint, parsed.body, idempotencyKey, operation, customerId);
}

async function controlRoute(state: SandboxState, req: IncomingMessage, method: string, name: string): Promise<Reply> {
  if (method === 'GET' && name === 'ledger') {
    return reply({ status: 200, data: state.ledger.snapshot(), outcome: 'read' });
  }
  if (name === 'faults' && method === 'GET') return reply({ status: 200, data: { faults: state.faults.current() }, outcome: 'read' });
  if (name === 'faults' && method === 'PUT') {
    const parsed = await readJson(state, req);
    if ('reply' in parsed) return parsed.reply;
    try {
      return reply({ status: 200, data: { faults: state.setFaults(parsed.body) }, outcome: 'read' });
    } catch (err) {
      if (err instanceof SandboxConfigError) return validationError(err.field, err.message);
      throw err;
    }
  }
  if (method === 'POST' && name === 'reset') {
    state.reset();
    return reply({ status: 200, data: { reset: true }, outcome: 'read' });
  }
  return notFound(method, CONTROL + name);
}

/** A JSON object body (an empty body reads as `{}`), or the 400/413 reply. */
async function readJson(state: SandboxState, req: IncomingMessage): Promise<{ body: Record<string, unknown> } | { reply: Reply }> {
  const text = await readBody(req, state.maxBodyBytes);
  if (text === TOO_LARGE) {
    return { reply: { ...errorReply(413, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${state.maxBodyBytes} bytes.`, 'invalid'), close: true } };
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

function notFound(method: string, path: string): Reply {
  return errorReply(404, 'NOT_FOUND', `No route for ${method} ${path}`, 'not-found');
}

function safeDecode(segment: string): string | null {
  try {
    return segment === '' ? null : decodeURIComponent(segment);
  } catch {
    return null;
  }
}
