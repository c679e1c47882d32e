// A client for the two example APIs and a realistic, seeded traffic mix: paid calls, free calls,
// calls that fail (400, 401, 404, 409, 500), uploads the client aborts, and client retries of the
// same create (same Idempotency-Key). Every call is recorded with its status and the request id the
// app echoed in `x-request-id`, so what should have been billed can be derived from the client's
// side alone. Used by the demo (examples/demo/index.mjs) and by the fault-injection suite (test/).
import http from 'node:http';
import { seededRandom } from '@pacspace-metering/sandbox';

/** The example apps' default API keys (their DEMO_API_KEYS): key -> customer. */
export const CUSTOMERS = Object.freeze([
  { customerId: 'acme', apiKey: 'demo_key_acme' },
  { customerId: 'globex', apiKey: 'demo_key_globex' },
  { customerId: 'initech', apiKey: 'demo_key_initech' },
  { customerId: 'umbrella', apiKey: 'demo_key_umbrella' },
]);

/** The same, as the examples' API_KEYS environment variable. */
export const API_KEYS_ENV = CUSTOMERS.map((c) => `${c.apiKey}:${c.customerId}`).join(',');

/** The paid routes' reasons and units; the examples' PRICES. */
export const PRICES = Object.freeze({ report_generated: 5, report_viewed: 1, pdf_rendered: 3 });
/** Reason of the examples' per-window storage deltas. */
export const STORAGE_REASON = 'report_storage';

/**
 * @typedef {{ status: number, requestId: string | undefined, json: any, error?: string }} Reply
 * @typedef {{ op: string, customerId: string | null, method: string, path: string, reason: string | null, status: number, requestId: string | undefined, error?: string }} Call
 *   `reason` is the reason the route bills under when it succeeds (null for free routes).
 */

/** A keep-alive HTTP client for one app. Network errors resolve as status 0, never reject. */
export function createClient(baseUrl, { maxSockets = 16, keepAlive = true } = {}) {
  const agent = new http.Agent({ keepAlive, maxSockets });
  const url = new URL(baseUrl);

  /** @returns {Promise<Reply>} */
  function send({ method = 'GET', path, apiKey, headers = {}, body }) {
    return new Promise((resolve) => {
      const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const allHeaders = { ...headers };
      if (apiKey) allHeaders.authorization = `Bearer ${apiKey}`;
      if (payload) Object.assign(allHeaders, { 'content-type': 'application/json', 'content-length': payload.length });
      const req = http.request({ host: url.hostname, port: url.port, method, path, headers: allHeaders, agent }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('error', (err) => resolve({ status: 0, requestId: undefined, json: undefined, error: err.code ?? err.message }));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, requestId: res.headers['x-request-id'], json });
        });
      });
      req.on('error', (err) => resolve({ status: 0, requestId: undefined, json: undefined, error: err.code ?? err.message }));
      req.end(payload);
    });
  }

  /**
   * Starts a `POST` whose body never arrives in full: sends the headers and half the body, then
   * destroys the socket (a client that gave up mid-upload). No response; never billable.
   * @returns {Promise<Reply>}
   */
  function abortUpload({ path, apiKey, headers = {}, body }) {
    return new Promise((resolve) => {
      const payload = Buffer.from(JSON.stringify(body));
      const req = http.request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        agent: false,
        headers: { ...headers, authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': payload.length },
      });
      req.on('error', () => undefined);
      req.on('response', (res) => res.resume());
      req.on('close', () => resolve({ status: 0, requestId: undefined, json: undefined, error: 'aborted by client' }));
      req.write(payload.subarray(0, payload.length >> 1), () => req.destroy());
    });
  }

  return { send, abortUpload, close: () => agent.destroy() };
}

/** Operation -> weight. Each operation is one or two HTTP calls. */
export const DEFAULT_MIX = Object.freeze({
  create: 16, // POST /v1/reports, half of them with an Idempotency-Key          (paid, 5)
  'create-retried': 6, // the same POST twice, same key: a retry after a lost answer (paid once)
  'upload-aborted-then-retried': 4, // upload cut short, then retried in full, same key  (paid once)
  view: 30, // GET /v1/reports/:id                                                (paid, 1)
  'view-missing': 4, // GET /v1/reports/<unknown>: 404                              (not paid)
  pdf: 5, // GET /v1/reports/:id/pdf: the renderer throws, 500                    (not paid)
  invalid: 6, // POST /v1/reports with a bad body: 400                             (not paid)
  conflict: 2, // an Idempotency-Key reused for a different body: 409             (not paid)
  'upload-aborted': 3, // upload cut short, never retried                           (not paid)
  plans: 8, // GET /v1/plans                                                        (free)
  list: 5, // GET /v1/reports                                                       (free)
  health: 5, // GET /health, no key                                                (free)
  unauthorized: 4, // a wrong API key: 401                                         (not paid)
});

/**
 * Runs `ops` operations of the mix (Infinity: until `stop()`) against one app with `concurrency`
 * in flight, and returns every HTTP call made. `tag` makes Idempotency-Keys unique per run.
 * `stop()` ends early (a time limit, the app went away); `onCall` sees each call as it completes.
 *
 * @returns {Promise<Call[]>}
 */
export async function runTraffic(client, { ops, concurrency = 8, seed = 1, tag = `s${seed}`, customers = CUSTOMERS, mix = DEFAULT_MIX, stop = () => false, onCall = () => undefined }) {
  const random = seededRandom(seed);
  const entries = Object.entries(mix);
  const totalWeight = entries.reduce((sum, [, w]) => sum + w, 0);
  const pick = () => {
    let r = random() * totalWeight;
    for (const [op, w] of entries) if ((r -= w) < 0) return op;
    return entries[0][0];
  };
  // Drawn one at a time, in order, as workers take them: the same seed gives the same sequence.
  const draw = (i) => ({ i, op: pick(), customer: customers[Math.floor(random() * customers.length)], withKey: random() < 0.5, rows: 1 + Math.floor(random() * 5000) });
  /** customerId -> ids of reports created in this run */
  const reportsOf = new Map(customers.map((c) => [c.customerId, []]));
  const calls = [];

  const record = (op, customer, method, path, reason, reply) => {
    const call = { op, customerId: customer?.customerId ?? null, method, path, reason, status: reply.status, requestId: reply.requestId, ...(reply.error ? { error: reply.error } : {}) };
    calls.push(call);
    onCall(call);
    return reply;
  };
  const create = async (op, customer, body, headers = {}) => {
    const reply = await client.send({ method: 'POST', path: '/v1/reports', apiKey: customer.apiKey, headers, body });
    if (reply.status === 201 && reply.json?.id) reportsOf.get(customer.customerId).push(reply.json.id);
    return record(op, customer, 'POST', '/v1/reports', 'report_generated', reply);
  };
  const someReport = (customer, i) => {
    const mine = reportsOf.get(customer.customerId);
    return mine.length > 0 ? mine[i % mine.length] : undefined;
  };

  async function perform({ i, op, customer, withKey, rows }) {
    const body = { title: `Usage report ${i}`, rows };
    const key = `${tag}-${i}`;
    switch (op) {
      case 'create':
        return create(op, customer, body, withKey ? { 'idempotency-key': key } : {});
      case 'create-retried':
        await create(op, customer, body, { 'idempotency-key': key });
        return create(op, customer, body, { 'idempotency-key': key });
      case 'upload-aborted-then-retried':
        record(op, customer, 'POST', '/v1/reports', 'report_generated', await client.abortUpload({ path: '/v1/reports', apiKey: customer.apiKey, headers: { 'idempotency-key': key }, body }));
        return create(op, customer, body, { 'idempotency-key': key });
      case 'upload-aborted':
        return record(op, customer, 'POST', '/v1/reports', 'report_generated', await client.abortUpload({ path: '/v1/reports', apiKey: customer.apiKey, body }));
      case 'conflict':
        await create(op, customer, body, { 'idempotency-key': key });
        return create(op, customer, { ...body, rows: rows + 1 }, { 'idempotency-key': key });
      case 'invalid':
        return create(op, customer, { title: '', rows: -rows });
      case 'view': {
        const id = someReport(customer, i);
        if (id === undefined) return create('create', customer, body);
        const path = `/v1/reports/${id}`;
        return record(op, customer, 'GET', path, 'report_viewed', await client.send({ path, apiKey: customer.apiKey }));
      }
      case 'view-missing': {
        const path = `/v1/reports/rpt_missing_${i}`;
        return record(op, customer, 'GET', path, 'report_viewed', await client.send({ path, apiKey: customer.apiKey }));
      }
      case 'pdf': {
        const id = someReport(customer, i);
        if (id === undefined) return create('create', customer, body);
        const path = `/v1/reports/${id}/pdf`;
        return record(op, customer, 'GET', path, 'pdf_rendered', await client.send({ path, apiKey: customer.apiKey }));
      }
      case 'plans':
        return record(op, customer, 'GET', '/v1/plans', null, await client.send({ path: '/v1/plans', apiKey: customer.apiKey }));
      case 'list':
        return record(op, customer, 'GET', '/v1/reports', null, await client.send({ path: '/v1/reports', apiKey: customer.apiKey }));
      case 'health':
        return record(op, null, 'GET', '/health', null, await client.send({ path: '/health' }));
      case 'unauthorized':
        return record(op, null, 'GET', '/v1/reports', null, await client.send({ path: '/v1/reports', apiKey: 'demo_key_nobody' }));
      default:
        throw new Error(`unknown operation ${op}`);
    }
  }

  let next = 0;
  const worker = async () => {
    while (next < ops && !stop()) await perform(draw(next++));
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ops)) }, worker));
  return calls;
}

/** True when the call should have been billed: a paid route answered 2xx. */
export const isBillable = (call) => call.reason !== null && call.status >= 200 && call.status < 300;
