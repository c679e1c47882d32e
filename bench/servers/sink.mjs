// A local stand-in for the peers' collectors (PostHog, Segment, Stripe, Moesif): answers every call
// with a 200 and a small JSON body, and counts the events each request carried, so a benchmark row
// can show how many of the requests it metered reached the other end.
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** How many events one request body carries, by the shape each SDK sends. */
function eventsIn(path, body) {
  if (path.startsWith('/v1/billing/meter_events')) return 1; // Stripe: one form-encoded event per call
  if (path.startsWith('/v1/config') || path.startsWith('/v1/rules') || path.startsWith('/flags') || path.startsWith('/decide')) return 0;
  let parsed;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 0;
  }
  if (Array.isArray(parsed)) return parsed.length; // Moesif: /v1/events/batch, an array of events
  if (Array.isArray(parsed?.batch)) return parsed.batch.length; // PostHog /batch/, Segment /v1/batch
  return 0;
}

/**
 * Starts the sink on 127.0.0.1, a port from the OS. `received()` is the number of events counted,
 * `requests()` the number of HTTP requests.
 */
export function startSink() {
  let received = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      requests++;
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip' || (raw[0] === 0x1f && raw[1] === 0x8b)) {
        try {
          raw = gunzipSync(raw);
        } catch {
          raw = Buffer.alloc(0);
        }
      }
      received += eventsIn(req.url ?? '/', raw.toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url?.startsWith('/v1/billing/meter_events') ? '{"object":"billing.meter_event","identifier":"bench"}' : '{"status":1}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        port: server.address().port,
        received: () => received,
        requests: () => requests,
        close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}
