import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { claimOnce, hasClaims, isClaimed, onResponseCompleted, onResponseDone, responseFinished, type ResponseOutcome } from './response-outcome.js';

async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

describe('onResponseDone', () => {
  it('reports finished once a response is fully written', async () => {
    const outcomes: ResponseOutcome[] = [];
    let reported!: () => void;
    const firstReport = new Promise<void>((resolve) => (reported = resolve));
    const app = await serve((_req, res) => {
      onResponseDone(res, (o) => {
        outcomes.push(o);
        reported();
      });
      res.end('ok');
    });
    expect(await (await fetch(app.url)).text()).toBe('ok');
    await firstReport;
    // Closing ends the socket too: a second report (say, 'aborted' on close) would land here.
    await app.close();
    expect(outcomes).toEqual(['finished']);
  });

  it('reports aborted when the client goes away mid-response', async () => {
    let resolveOutcome!: (o: ResponseOutcome) => void;
    const outcome = new Promise<ResponseOutcome>((r) => (resolveOutcome = r));
    const app = await serve((_req, res) => {
      onResponseDone(res, resolveOutcome);
      res.write('partial');
      // never ends: the client disconnects first
    });
    await new Promise<void>((resolve) => {
      const req = http.get(app.url, (res) => res.once('data', () => { req.destroy(); resolve(); }));
      req.on('error', () => resolve());
    });
    expect(await outcome).toBe('aborted');
    await app.close();
  });
});

/**
 * A response as serverless-http builds one for a Lambda event: a ServerResponse writing into a
 * stand-in "socket" (a plain object that takes each chunk at once, with no writableLength), whose
 * `close` the library emits itself once it has awaited `finish`.
 */
function lambdaResponse(): http.ServerResponse {
  const res = new http.ServerResponse(new http.IncomingMessage(null as never));
  const write = (_data: unknown, encoding?: unknown, cb?: () => void) => {
    (typeof encoding === 'function' ? (encoding as () => void) : cb)?.();
    return true;
  };
  const noop = () => undefined;
  res.assignSocket({ _writableState: {}, writable: true, on: noop, removeListener: noop, destroy: noop, cork: noop, uncork: noop, write } as never);
  res.once('finish', () => queueMicrotask(() => res.emit('close')));
  return res;
}

describe('responseFinished', () => {
  // On Node 22 and 24 `writableFinished` never turns true there (Node 26 sets it): whichever Node
  // runs this, the response must count as finished.
  it('counts a response written into a serverless stand-in socket as finished, whether or not writableFinished turns true', async () => {
    const outcomes: ResponseOutcome[] = [];
    let completed = 0;
    const res = lambdaResponse();
    onResponseDone(res, (o) => outcomes.push(o));
    onResponseCompleted(res, false, () => void completed++);
    const closed = new Promise((resolve) => res.once('close', resolve));
    res.end('{"ok":true}');
    await closed;
    expect([responseFinished(res), outcomes, completed]).toEqual([true, ['finished'], 1]);
  });

  it('does not count a stand-in response that was never ended', () => {
    const res = lambdaResponse();
    res.write('partial');
    expect(responseFinished(res)).toBe(false);
  });
});

describe('claimOnce', () => {
  it('claims a key once per request', () => {
    const req = {};
    expect(claimOnce(req, 'a')).toBe(true);
    expect(claimOnce(req, 'a')).toBe(false);
    expect(claimOnce(req, 'b')).toBe(true);
    expect(claimOnce({}, 'a')).toBe(true);
  });

  it('answers isClaimed and hasClaims without claiming, for one key and for several', () => {
    const req = {};
    expect(hasClaims(req)).toBe(false);
    expect(isClaimed(req, 'a')).toBe(false);
    expect(claimOnce(req, 'a')).toBe(true);
    expect([hasClaims(req), isClaimed(req, 'a'), isClaimed(req, 'b')]).toEqual([true, true, false]);
    expect(claimOnce(req, 'b')).toBe(true);
    expect(claimOnce(req, 'c')).toBe(true);
    expect(['a', 'b', 'c', 'd'].map((k) => isClaimed(req, k))).toEqual([true, true, true, false]);
    expect(['a', 'b', 'c'].map((k) => claimOnce(req, k))).toEqual([false, false, false]);
  });
});
