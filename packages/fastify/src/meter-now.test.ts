import { DeltaValidationError, MeteringConfigError, type Meter } from '@pacspace-metering/core';
import { fastifyMetering, meterNow } from '@pacspace-metering/fastify';
import Fastify from 'fastify';
import { call, listenFastify, recordingMeter } from '../test-support/harness.js';

describe('meterNow (Fastify)', () => {
  it('rejects with the typed error for bad input, or for something that is not a Meter; the handler answers, nothing is billed', async () => {
    const { meter, sent } = recordingMeter();
    const app = Fastify();
    await app.register(fastifyMetering, { meter, customerId: () => 'acme' });
    app.post('/bad', async (request, reply) => {
      const errors = await Promise.all([
        meterNow(meter, request, { customerId: 'has spaces', reason: 'export' }).catch((err: unknown) => err),
        meterNow({} as Meter, request, { customerId: 'acme' }).catch((err: unknown) => err),
      ]);
      return reply.code(422).send(errors.map((err) => [(err as Error).constructor.name, (err as DeltaValidationError).field ?? (err as MeteringConfigError).option]));
    });
    const running = await listenFastify(app);
    const answer = await call(running, '/bad', { method: 'POST' });
    await running.waitForDone(1);
    await meter.flush();
    expect([answer.status, JSON.parse(answer.body)]).toEqual([422, [['DeltaValidationError', 'customerId'], ['MeteringConfigError', 'meter']]]);
    expect(sent).toEqual([]);
    await running.close();
  });

  it("rejects with the plugin's requestId failure rather than bill under a random id", async () => {
    const { meter, sent, drops } = recordingMeter();
    const app = Fastify();
    await app.register(fastifyMetering, { meter, customerId: () => 'acme', requestId: () => Promise.resolve('late') as never });
    app.post('/export', async (request) => {
      const err = (await meterNow(meter, request, { customerId: 'acme', reason: 'export' }).catch((e: unknown) => e)) as DeltaValidationError;
      return { field: err.field };
    });
    const running = await listenFastify(app);
    expect(JSON.parse((await call(running, '/export', { method: 'POST' })).body)).toEqual({ field: 'requestId' });
    await running.waitForDone(1);
    await meter.flush();
    expect(sent).toEqual([]);
    // Refused by meterNow, and again by the plugin for its own reason when the 200 finished.
    expect(drops.map((d) => (d.error as DeltaValidationError).field)).toEqual(['requestId', 'requestId']);
    await running.close();
  });
});
