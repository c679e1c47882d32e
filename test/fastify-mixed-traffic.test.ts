// Issue 24, "Must show": the mixed-traffic suite (support/mixed-traffic.ts) through a real Fastify
// app with @pacspace-metering/fastify, on Fastify 5 and on Fastify 4: one delta per 2xx under API
// faults; none for 4xx, throws, rejections and aborts.
import type { Meter } from '@pacspace-metering/core';
import { fastifyMetering } from '@pacspace-metering/fastify';
import Fastify5, { type FastifyInstance } from 'fastify';
import Fastify4 from 'fastify4';
import { Readable } from 'node:stream';
import { fastifyListener } from '../packages/fastify/test-support/harness.js';
import { describeMixedTraffic, inProcess } from './support/mixed-traffic.js';

type Query = { units: string; status?: string };

/** The suite's routes, in a prefixed child plugin: the metering plugin registered at the root meters it. */
function reportsApp(app: FastifyInstance, meter: Meter): FastifyInstance {
  // Not awaited, and declared before the routes: the hooks still reach every route of the scope.
  app.register(fastifyMetering, {
    meter,
    customerId: (request) => request.headers['x-customer'] as string | undefined,
    delta: (request) => -Number((request.query as Query).units),
    responseHeader: 'x-request-id',
  });
  app.register(
    async (reports) => {
      reports.get<{ Params: { id: string } }>('/:id', async (request) => ({ id: request.params.id }));
      reports.get<{ Querystring: Query }>('/:id/invalid', async (request, reply) => reply.code(Number(request.query.status)).send({ error: 'invalid' }));
      reports.get('/:id/throws', () => {
        throw new Error('handler bug');
      });
      reports.get('/:id/rejects', async () => {
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error('async handler bug');
      });
      reports.get('/:id/stream', (_request, reply) => {
        const body = new Readable({ read() {} });
        body.push('{"rows":[');
        // The client destroys the socket after this first chunk; only then does the body end.
        reply.raw.once('close', () => body.push(null));
        return reply.send(body);
      });
    },
    { prefix: '/v1/reports' },
  );
  return app;
}

describeMixedTraffic('Fastify 5', { route: '/v1/reports/:id', start: inProcess((meter) => fastifyListener(reportsApp(Fastify5(), meter))) });
describeMixedTraffic('Fastify 4', { route: '/v1/reports/:id', start: inProcess((meter) => fastifyListener(reportsApp(Fastify4() as unknown as FastifyInstance, meter))) });
