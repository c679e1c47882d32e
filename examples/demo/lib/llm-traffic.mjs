// Traffic for examples/llm-api: whole answers (JSON), streamed answers (SSE) read to the end,
// streams the client cuts after a few tokens, repeated prompts (cache hits, which cost nothing)
// and bad requests (400, never billed). Each call is recorded with what the client received.
import { Agent, request } from 'node:http';
import { CUSTOMERS } from './traffic.mjs';

const PROMPTS = Array.from({ length: 120 }, (_, i) => `question ${i}: how is a streamed answer billed ${'when it is cut '.repeat(i % 4)}`.trim());
const LENGTHS = [8, 16, 24];

/** A small seeded random generator (mulberry32), so a seed replays the same traffic. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * POSTs a completion request. `abortAfter`: destroy the socket once that many token events were
 * received (the client went away mid-stream). Resolves with the status, the request id, the
 * tokens received and whether the client aborted; never rejects.
 */
function call(url, agent, apiKey, body, abortAfter) {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    let received = 0;
    let status = 0;
    let requestId = null;
    let aborted = false;
    const req = request(`${url}/v1/completions`, {
      method: 'POST',
      agent: abortAfter === undefined ? agent : false,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      status = res.statusCode ?? 0;
      requestId = res.headers['x-request-id'] ?? null;
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
        if (!body.stream) return;
        received = text.split('\n\n').filter((e) => e.startsWith('data: {')).length;
        if (abortAfter !== undefined && received >= abortAfter && !aborted) {
          aborted = true;
          req.destroy();
        }
      });
      res.on('end', () => {
        if (!body.stream && status === 200) received = JSON.parse(text).usage.outputTokens;
      });
      res.once('error', () => undefined);
    });
    req.once('error', () => undefined);
    req.once('close', () => resolve({ status, requestId, received, aborted }));
    req.end(payload);
  });
}

/**
 * Drives `url` until `stop()` with `concurrency` clients. Resolves with every call:
 * `{ customerId, kind: 'json' | 'stream' | 'abort' | 'bad', status, requestId, received, aborted }`.
 */
export async function runLlmTraffic(url, { stop, seed = 1, concurrency = 6, onCall = () => undefined }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const next = random(seed);
  const calls = [];
  const worker = async () => {
    while (!stop()) {
      const customer = CUSTOMERS[Math.floor(next() * CUSTOMERS.length)];
      const roll = next();
      const kind = roll < 0.35 ? 'json' : roll < 0.7 ? 'stream' : roll < 0.95 ? 'abort' : 'bad';
      const maxTokens = LENGTHS[Math.floor(next() * LENGTHS.length)];
      const body = kind === 'bad' ? { prompt: '', max_tokens: maxTokens } : { prompt: PROMPTS[Math.floor(next() * PROMPTS.length)], max_tokens: maxTokens, stream: kind !== 'json' };
      const abortAfter = kind === 'abort' ? 1 + Math.floor(next() * (maxTokens - 1)) : undefined;
      const result = await call(url, agent, customer.apiKey, body, abortAfter);
      const record = { customerId: customer.customerId, kind, ...result };
      calls.push(record);
      onCall(record);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return calls;
}
