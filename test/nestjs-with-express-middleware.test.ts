import 'reflect-metadata';
import http from 'node:http';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { buildReferenceId, createMeter } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import { Metered, MeteringModule } from '@pacspace-metering/nestjs';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';

// A Nest app (Express adapter) metered twice on purpose: the Express middleware in front of every
// route and @Metered on the handler, one Meter, the same reason. Each call must be enqueued and
// billed once: the decorator picks up the middleware's request id and sees its claim.

function get(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; id: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}${path}`, { headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, id: res.headers['x-request-id'] as string | undefined }));
      })
      .on('error', reject);
  });
}

@Controller()
class CallsController {
  @Get('call')
  @Metered('api_call')
  call() {
    return 'ok';
  }
}

describe('@Metered behind the Express meterRequests() middleware', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('bills each call once, under one request id', async () => {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'layered' });
    const customerId = (req: { headers: Record<string, string | string[] | undefined> }) => req.headers['x-customer'] as string;
    @Module({ imports: [MeteringModule.forRoot({ meter, customerId })], controllers: [CallsController] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false, abortOnError: false });
    app.use(meterRequests(meter, { customerId, reason: 'api_call', responseHeader: 'x-request-id' }));
    await app.listen(0, '127.0.0.1');
    const base = await app.getUrl();
    const replies = await Promise.all(Array.from({ length: 5 }, () => get(base, '/call', { 'x-customer': 'acme' })));
    await app.close();
    await meter.close();

    expect(replies.every((r) => r.status === 200 && typeof r.id === 'string')).toBe(true);
    expect(meter.stats()).toMatchObject({ accepted: 5, delivered: 5, deduplicated: 0 });
    expect(sandbox.ledger().deltas.map((d) => d.referenceId).sort()).toEqual(
      replies.map((r) => buildReferenceId({ scope: 'layered', operation: 'api_call', customerId: 'acme', requestId: r.id! })).sort(),
    );
  });
});
