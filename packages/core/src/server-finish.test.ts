import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { watchServerFinish } from './server-finish.js';

async function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

describe('watchServerFinish', () => {
  it('calls every callback of a response once, when it finishes, and no other response', async () => {
    const calls: string[] = [];
    let finished!: () => void;
    const bothCalled = new Promise<void>((resolve) => (finished = resolve));
    const app = await serve((req, res) => {
      if (req.url === '/watched') {
        expect(watchServerFinish(res, () => calls.push(`first, finished ${res.writableFinished}`))).toBe(true);
        expect(watchServerFinish(res, () => { calls.push('second'); finished(); })).toBe(true);
      }
      res.end('ok');
    });
    expect(await (await fetch(`${app.url}/other`)).text()).toBe('ok');
    expect(await (await fetch(`${app.url}/watched`)).text()).toBe('ok');
    await bothCalled;
    // Another response after it: the first one's callbacks are not called again.
    expect(await (await fetch(`${app.url}/other`)).text()).toBe('ok');
    await app.close();
    expect(calls).toEqual(['first, finished true', 'second']);
  });

  it('never calls back for a response the client abandoned before it finished', async () => {
    const calls: string[] = [];
    let closed!: () => void;
    const responseClosed = new Promise<void>((resolve) => (closed = resolve));
    const app = await serve((_req, res) => {
      watchServerFinish(res, () => calls.push('finished'));
      res.on('close', closed);
      res.write('partial'); // never ended: the client disconnects first
    });
    await new Promise<void>((resolve) => {
      const req = http.get(app.url, (res) => res.once('data', () => { req.destroy(); resolve(); }));
      req.on('error', () => resolve());
    });
    await responseClosed;
    await app.close();
    expect(calls).toEqual([]);
  });

  it('declines a response that no Node http server serves (a stand-in socket, as serverless-http builds)', () => {
    const req = new http.IncomingMessage(new PassThrough() as never);
    const res = new http.ServerResponse(req);
    res.assignSocket(Object.assign(new PassThrough(), { server: { not: 'an http.Server' } }) as never);
    expect(watchServerFinish(res, () => undefined)).toBe(false);
    expect(watchServerFinish(new http.ServerResponse(req), () => undefined)).toBe(false);
  });
});
