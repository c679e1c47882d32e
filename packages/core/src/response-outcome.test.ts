import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { claimOnce, hasClaims, isClaimed, onResponseDone, type ResponseOutcome } from './response-outcome.js';

async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

describe('onResponseDone', () => {
  it('reports finished once a response is fully written', async () => {
    const outcomes: ResponseOutcome[] = [];
    const app = await serve((_req, res) => {
      onResponseDone(res, (o) => outcomes.push(o));
      res.end('ok');
    });
    expect(await (await fetch(app.url)).text()).toBe('ok');
    await new Promise((r) => setTimeout(r, 20));
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
