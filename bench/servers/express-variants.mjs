// One Express hello-world per variant, so the request path is all that differs between them.
import express from 'express';
import onFinished from 'on-finished';
import { subscribe } from 'node:diagnostics_channel';
import pinoHttp from 'pino-http';
import pino from 'pino';
import promBundle from 'express-prom-bundle';
import { meterRequests, meterStream, requireBalance } from '@pacspace-metering/express';
import { peerVariants } from './peer-variants.mjs';
import { inProcessGate, inProcessMeter, sandboxMeter, singleDeltaSandboxMeter, stubMeter } from './meters.mjs';

const customerId = (req) => req.headers['x-customer'] ?? 'bench-customer';

/** Two meters per call (issue 21): input and output tokens, each its own delta and referenceId. */
const TWO_DELTAS = [{ reason: 'input_tokens', delta: -3 }, { reason: 'output_tokens', delta: -5 }];

/**
 * Answers /hello as an SSE stream of `events` events; with a meter, counts each event with
 * meterStream (billed once when the response closes). Compare each metered stream with the bare one
 * of the same length: the difference over two lengths gives the cost per event.
 */
function sse(events, meter) {
  return (req, res) => {
    const usage = meter === undefined ? undefined : meterStream(meter, req, res, { customerId: customerId(req) });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < events; i++) {
      res.write('data: token\n\n');
      usage?.add('output_tokens', 1);
    }
    res.end();
  };
}

export const expressVariants = {
  'express bare': () => [],
  'express + res.once(finish)': () => [(req, res, next) => { res.once('finish', () => {}); next(); }],
  'express + on-finished': () => [(req, res, next) => { onFinished(res, () => {}); next(); }],
  // The floor of the design issue #25 proposes: no middleware, no listener per response; one
  // process-wide subscriber that Node calls for each finished response (it counts them, nothing more).
  'express + diagnostics_channel finish subscriber (floor)': () => {
    let finished = 0;
    subscribe('http.server.response.finish', () => void finished++);
    return [];
  },
  'express + pino-http (/dev/null)': () => [pinoHttp({ logger: pino(pino.destination('/dev/null')) })],
  'express + express-prom-bundle': () => [promBundle({ includeMethod: true, includePath: true })],
  'express + meterRequests (stub meter: middleware alone)': () => [meterRequests(stubMeter(), { customerId, reason: 'api_request' })],
  'express + meterRequests (no network)': () => [meterRequests(inProcessMeter(), { customerId, reason: 'api_request' })],
  'express + meterRequests, two deltas per call (no network)': () => [meterRequests(inProcessMeter(), { customerId, deltas: () => TWO_DELTAS })],
  'express + meterRequests, two deltas per call (stub meter: middleware alone)': () => [meterRequests(stubMeter(), { customerId, deltas: () => TWO_DELTAS })],
  'express + two meterRequests, one delta each (no network)': () => {
    const meter = inProcessMeter();
    return [meterRequests(meter, { customerId, reason: 'input_tokens', delta: -3 }), meterRequests(meter, { customerId, reason: 'output_tokens', delta: -5 })];
  },
  'express SSE 10 events': () => [sse(10)],
  'express SSE 10 events + meterStream (no network)': () => [sse(10, inProcessMeter())],
  'express SSE 50 events': () => [sse(50)],
  'express SSE 50 events + meterStream (no network)': () => [sse(50, inProcessMeter())],
  'express + requireBalance (cached gate, no network)': () => [requireBalance(inProcessGate().gate, { customerId, price: 1 })],
  'express + requireBalance + meterRequests (cached gate, no network)': () => {
    const { meter, gate } = inProcessGate();
    return [requireBalance(gate, { customerId, price: 1 }), meterRequests(meter, { customerId, reason: 'api_request' })];
  },
  'express + meterRequests (to sandbox)': (env) => [meterRequests(sandboxMeter(env), { customerId, reason: 'api_request' })],
  // The echo header's share (issue #25): the same two rows with `responseHeader: false`.
  'express + meterRequests (stub meter, no echo header)': () => [meterRequests(stubMeter(), { customerId, reason: 'api_request', responseHeader: false })],
  'express + meterRequests (to sandbox, no echo header)': (env) => [meterRequests(sandboxMeter(env), { customerId, reason: 'api_request', responseHeader: false })],
  // The Meter's HTTP client through fetch (undici) rather than node:http (the default on Node).
  'express + meterRequests (to sandbox, fetch transport)': (env) => [meterRequests(sandboxMeter(env, { transport: 'fetch' }), { customerId, reason: 'api_request' })],
  'express + meterRequests (to sandbox, one delta per request)': (env) => [meterRequests(singleDeltaSandboxMeter(env), { customerId, reason: 'api_request' })],
  ...peerVariants,
};

export function startExpress(variant, env) {
  const app = express();
  app.disable('x-powered-by');
  for (const mw of expressVariants[variant](env)) app.use(mw);
  app.get('/hello', (req, res) => res.send('hello'));
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}
