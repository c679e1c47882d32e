// The peers' ways of recording one billable call per request, each delivering to the local sink
// (SINK_URL, see sink.mjs) with the batch sizes the issue compares against (PostHog and Segment
// 100 per call, Moesif its default, Stripe one call per event).
import { PostHog } from 'posthog-node';
import { Analytics } from '@segment/analytics-node';
import Stripe from 'stripe';
import moesif from 'moesif-nodejs';
import { onBenchFlush } from './flushers.mjs';

const customerOf = (req) => req.headers['x-customer'] ?? 'bench-customer';

function sinkUrl(env) {
  if (!env.SINK_URL) throw new Error('the peer variants deliver to a local sink: set SINK_URL (request-instructions.mjs starts one per measurement)');
  return new URL(env.SINK_URL);
}

function afterFinish(record) {
  return (req, res, next) => {
    res.once('finish', () => { if (res.statusCode < 400) record(req); });
    next();
  };
}

export const peerVariants = {
  'express + posthog-node capture (batches of 100)': (env) => {
    const client = new PostHog('phc_bench', { host: sinkUrl(env).origin, flushAt: 100, flushInterval: 10_000 });
    onBenchFlush(() => client.flush());
    return [afterFinish((req) => client.capture({ distinctId: customerOf(req), event: 'api_request' }))];
  },
  'express + @segment/analytics-node track (batches of 100)': (env) => {
    const client = new Analytics({ writeKey: 'bench', host: sinkUrl(env).origin, maxEventsInBatch: 100, flushInterval: 10_000 });
    onBenchFlush(() => client.closeAndFlush({ timeout: 30_000 }));
    return [afterFinish((req) => client.track({ userId: customerOf(req), event: 'api_request' }))];
  },
  'express + stripe billing.meterEvents.create': (env) => {
    const url = sinkUrl(env);
    const stripe = new Stripe('sk_test_bench', { host: url.hostname, port: Number(url.port), protocol: 'http', maxNetworkRetries: 0 });
    const pending = new Set();
    onBenchFlush(() => Promise.allSettled([...pending]));
    return [afterFinish((req) => {
      const call = stripe.billing.meterEvents.create({ event_name: 'api_request', payload: { stripe_customer_id: customerOf(req), value: '1' } }).catch(() => {});
      pending.add(call);
      call.finally(() => pending.delete(call));
    })];
  },
  'express + moesif-nodejs middleware': (env) => {
    const middleware = moesif({ applicationId: 'bench'.padEnd(64, '0'), baseUri: sinkUrl(env).origin, identifyUser: customerOf });
    // moesif-nodejs sends its batches on a timer and has no public flush: the report waits for it.
    onBenchFlush(() => new Promise((resolve) => setTimeout(resolve, 3_000)));
    return [middleware];
  },
};
