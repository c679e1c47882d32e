import type { IncomingMessage, ServerResponse } from 'node:http';
import { batchCustomerIds, customerIdOf, emitBatch, emitDelta } from './balance.js';
import { createCheckpoint } from './checkpoint.js';
import { controlRoute } from './control-routes.js';
import { errorReply, validationError, type Drop, type Reply } from './envelope.js';
import { drop, readJson, send } from './http-io.js';
import { tooDeepField, MAX_METADATA_DEPTH } from './nesting.js';
import { notImplementedRoute } from './not-implemented.js';
import { pageFile } from './page-files.js';
import { deriveWithFaults } from './derive-route.js';
import { getDelta } from './reads.js';
import type { SandboxState } from './state.js';
import { checkChainId } from './validation.js';
import { runWrite, type WriteOperation } from './write-pipeline.js';

const API = '/api/v1/';
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

  const page = method === 'GET' ? pageFile(path) : undefined;
  let result: Reply | Drop;
  try {
    result = page ?? (await route(state, req, method, path, q === -1 ? '' : url.slice(q + 1), idempotencyKey));
  } catch (err) {
    // Only a bug gets here; report it without request headers (they hold the API key).
    console.error('[pacspace-sandbox] internal error:', err instanceof Error ? err.stack : err);
    result = errorReply(500, 'INTERNAL_ERROR', 'The sandbox hit an internal error.', 'error');
  }
  let status = 0; // stays 0 when no response goes out
  if ('drop' in result) drop(req, result.drop);
  else if (send(res, result)) status = result.status;

  // The page and the control plane are not API traffic: keeping them out of the log keeps it
  // what a client did, and test assertions simple.
  if (page || path.startsWith(CONTROL)) return;
  const chainHeader = req.headers['x-chain-id'];
  const chainId = typeof chainHeader === 'string' ? chainHeader : null;
  const entry = { method, path, idempotencyKey, chainId, customerId: result.customerId, status, outcome: result.outcome, ...result.links };
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
  if (!control && !path.startsWith(BALANCE)) {
    // Other PacSpace routes (verify, receipts, ...) are a sandbox gap; anything else is no route.
    return path.startsWith(API) ? notImplementedRoute(method, path) : notFound(method, path);
  }
  const key = state.checkKey(req.headers['x-api-key']);
  if (key === 'live') {
    const message = 'This is a sandbox: live (pk_live_) keys are refused here. Use a pk_test_ key with the sandbox, and send live traffic to PacSpace.';
    return errorReply(403, 'API_KEY_ENVIRONMENT_HOST_MISMATCH', message, 'live-key');
  }
  if (key === 'invalid') {
    return errorReply(401, 'INVALID_API_KEY', 'The X-Api-Key header is missing or is not a valid API key.', 'unauthorized');
  }
  if (control) return controlRoute(state, req, method, path.slice(CONTROL.length), new URLSearchParams(query));
  const chain = checkChainId(req.headers['x-chain-id']);
  if (!chain.ok) return validationError(chain.field, chain.message);

  const rest = path.slice(BALANCE.length);
  if (method === 'POST') {
    const write = (op: WriteOperation): Promise<Reply | Drop> => writeRoute(state, req, rest, idempotencyKey, op);
    // Operations read the clock when they run, i.e. after any injected latency.
    if (rest === 'delta') return write((body, k, decision) => emitDelta(state.ledger, body, k, Date.now(), decision, state.singleDeltaDedupe === 'reference-id'));
    if (rest === 'delta/batch') return write((body, k, decision) => emitBatch(state.ledger, body, k, Date.now(), decision));
    if (rest === 'checkpoint') return write((body) => createCheckpoint(state.ledger, body, Date.now()));
  } else if (method === 'GET') {
    const [resource, id, extra] = rest.split('/');
    const param = id === undefined || extra !== undefined ? null : safeDecode(id);
    if (param !== null && resource === 'delta') return getDelta(state.ledger, param, Date.now());
    if (param !== null && resource === 'derive') return deriveWithFaults(state, param, query);
  }
  return notImplementedRoute(method, path);
}

/** Reads the body, then {@link writeChecked}; a batch's customers are logged whatever the answer. */
async function writeRoute(
  state: SandboxState,
  req: IncomingMessage,
  endpoint: string,
  idempotencyKey: string | null,
  operation: WriteOperation,
): Promise<Reply | Drop> {
  const parsed = await readJson(req, state.maxBodyBytes);
  if ('reply' in parsed) return parsed.reply;
  const customerIds = endpoint === 'delta/batch' ? batchCustomerIds(parsed.body) : undefined;
  if (customerIds === undefined) return writeChecked(state, endpoint, parsed.body, idempotencyKey, operation);
  // A batch's customers go to the request log whatever the answer, faults and refusals included.
  const result = await writeChecked(state, endpoint, parsed.body, idempotencyKey, operation);
  return { ...result, links: { ...result.links, customerIds } };
}

/** Nesting and Idempotency-Key checks, then the shared write pipeline. */
async function writeChecked(
  state: SandboxState,
  endpoint: string,
  body: Record<string, unknown>,
  idempotencyKey: string | null,
  operation: WriteOperation,
): Promise<Reply | Drop> {
  const customerId = customerIdOf(body);
  // Before anything recursive (fingerprint, validation, the ledger) sees the body.
  const deep = tooDeepField(endpoint, body);
  if (deep !== undefined) return validationError(deep, `${deep} nests too deep: metadata may nest at most ${MAX_METADATA_DEPTH} levels`, customerId);
  if (idempotencyKey !== null && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
    return validationError('Idempotency-Key', 'the Idempotency-Key header must be 1-255 printable ASCII characters', customerId);
  }
  return runWrite(state, endpoint, body, idempotencyKey, operation, customerId);
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
