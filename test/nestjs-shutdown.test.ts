import 'reflect-metadata';
import http from 'node:http';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { METER, Metered, MeteringModule, type Meter } from '@pacspace-metering/nestjs';
import { duplicateReferenceIds, startSandbox, sumByCustomer, type Sandbox } from '@pacspace-metering/sandbox';

function get(base: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}${path}`, { headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

@Controller('jobs')
class JobsController {
  @Get(':id')
  @Metered({ reason: 'job_run', delta: -2 })
  run(@Param('id') id: string) {
    return { id };
  }
}

describe.each([
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const)('application shutdown (%s adapter)', (_name, createAdapter) => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('app.close() delivers every delta still queued, in retry or in flight, before it resolves', async () => {
    @Module({
      imports: [
        MeteringModule.forRoot({
          apiKey: sandbox.apiKey,
          baseUrl: sandbox.url,
          scope: 'shutdown',
          concurrency: 2,
          retryBaseDelayMs: 5,
          retryMaxDelayMs: 40,
          customerId: (req: { headers: Record<string, string> }) => req.headers['x-customer'],
        }),
      ],
      controllers: [JobsController],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, createAdapter(), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    const base = await app.getUrl();
    const meter = app.get<Meter>(METER);

    // PacSpace is down while the calls are served: every delta waits in the queue, retrying.
    await sandbox.stop();
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => get(base, `/jobs/${i}`, { 'x-customer': i % 2 ? 'acme' : 'globex' })));
    expect(statuses).toEqual(Array(12).fill(200));
    expect(meter.stats()).toMatchObject({ accepted: 12, delivered: 0 });

    // It comes back slow, and the application shuts down at once: close() must wait for all twelve.
    await sandbox.start();
    sandbox.setFaults({ latencyMs: 40 });
    await app.close();

    const ledger = sandbox.ledger();
    expect(ledger.deltas).toHaveLength(12);
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(sumByCustomer(ledger)).toEqual({ acme: -12, globex: -12 });
    expect(meter.stats()).toMatchObject({ delivered: 12, queued: 0, inFlight: 0, dropped: {}, closed: true });
  });
});
