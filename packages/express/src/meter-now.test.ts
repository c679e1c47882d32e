import { DeltaValidationError, MeteringConfigError, createMeter } from '@pacspace-metering/core';
import { getRequestId, meterNow, meterRequests } from '@pacspace-metering/express';
import express, { type Request } from 'express';
import { listen, recordingMeter } from '../test-support/harness.js';

describe('meterNow(): awaited metering', () => {
  it('resolves with the receipt before the handler answers, under the request id, with route metadata', async () => {
    const { meter, sent } = recordingMeter();
    const app = express();
    const seen: Array<{ billedAs: string | undefined; reqId: unknown }> = [];
    app.post('/v1/exports/:id', async (req, res) => {
      const receipt = await meterNow(meter, req, { customerId: 'acme', reason: 'export', delta: -10, metadata: { rows: 3 } });
      seen.push({ billedAs: getRequestId(req), reqId: (req as Request & { id?: unknown }).id });
      res.json(receipt);
    });
    const running = await listen(app);
    try {
      const res = await fetch(`${running.url}/v1/exports/9`, { method: 'POST' });
      const receipt = (await res.json()) as { referenceId: string; deduplicated: boolean; attempts: number };
      expect(res.status).toBe(200);
      // Without the middleware there is no echo header; the id is kept for getRequestId, not written to req.id.
      expect(seen[0]!.billedAs).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen[0]!.reqId).toBeUndefined();
      expect(receipt).toMatchObject({ referenceId: `test:export:acme:${seen[0]!.billedAs}`, deduplicated: false, attempts: 1 });
      expect(sent).toEqual([{ customerId: 'acme', delta: -10, reason: 'export', referenceId: receipt.referenceId, metadata: { route: '/v1/exports/:id', method: 'POST', rows: 3 } }]);
    } finally {
      await running.close();
    }
  });

  it('rejects with the typed error and lets the handler answer an error: nothing is billed', async () => {
    const refused = Object.assign(new Error('insufficient balance'), { status: 402, code: 'INSUFFICIENT_BALANCE' });
    let calls = 0;
    const meter = createMeter({
      client: {
        balance: {
          emit: async () => {
            calls++;
            throw refused;
          },
        },
      },
      scope: 'test',
    });
    const app = express();
    app.post('/v1/exports', meterRequests(meter, { customerId: () => 'acme', reason: 'export' }), async (req, res) => {
      try {
        await meterNow(meter, req, { customerId: 'acme', reason: 'export' });
        res.send('exported');
      } catch (err) {
        res.status(402).json({ error: (err as Error).message });
      }
    });
    const running = await listen(app);
    try {
      const res = await fetch(`${running.url}/v1/exports`, { method: 'POST' });
      expect(res.status).toBe(402);
      expect(await res.json()).toEqual({ error: 'insufficient balance' });
      await running.waitForDone(1);
      await meter.flush();
      expect(calls).toBe(1); // a permanent refusal is not retried, and the middleware does not try again
      expect(meter.stats().dropped.rejected).toBe(1);
    } finally {
      await running.close();
    }
  });

  it('rejects (never throws synchronously) for bad input and for something that is not a Meter', async () => {
    const { meter } = recordingMeter();
    const req = { headers: {}, method: 'POST', baseUrl: '' } as unknown as Request;
    const invalid = meterNow(meter, req, { customerId: 'acme', delta: Number.NaN });
    await expect(invalid).rejects.toBeInstanceOf(DeltaValidationError);
    await expect(invalid).rejects.toMatchObject({ field: 'delta' });
    await expect(meterNow(meter, req, undefined as never)).rejects.toMatchObject({ field: 'customerId' });
    await expect(meterNow({} as never, req, { customerId: 'acme' })).rejects.toBeInstanceOf(MeteringConfigError);
  });

  it('can be called again for the same request: the same referenceId, so it cannot bill twice', async () => {
    const { meter, sent } = recordingMeter();
    const req = { headers: {}, method: 'POST', baseUrl: '' } as unknown as Request;
    const first = await meterNow(meter, req, { customerId: 'acme', reason: 'export' });
    const second = await meterNow(meter, req, { customerId: 'acme', reason: 'export' });
    expect(second.referenceId).toBe(first.referenceId);
    expect(new Set(sent.map((d) => d.referenceId)).size).toBe(1);
  });
});
