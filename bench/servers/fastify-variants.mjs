// Fastify 5 hello-worlds, so the request path is all that differs between them: bare, the hooks the
// plugin could be built on (for what each costs alone), and @pacspace-metering/fastify itself.
import Fastify from 'fastify';
import { fastifyMetering } from '@pacspace-metering/fastify';
import { inProcessMeter, sandboxMeter, stubMeter } from './meters.mjs';

const customerId = (request) => request.headers['x-customer'] ?? 'bench-customer';
const plugin = (meter) => (app) => app.register(fastifyMetering, { meter, customerId });

export const fastifyVariants = {
  'fastify bare': () => () => undefined,
  'fastify + empty onRequest hook': () => (app) => app.addHook('onRequest', (_request, _reply, done) => done()),
  'fastify + onRequest reading routeOptions': () => (app) => app.addHook('onRequest', (request, _reply, done) => done(void request.routeOptions.config)),
  'fastify + onRequest + raw close listener': () => (app) => app.addHook('onRequest', (_request, reply, done) => done(void reply.raw.on('close', () => undefined))),
  'fastify + onRequest + onResponse hooks': () => (app) => {
    app.addHook('onRequest', (_request, _reply, done) => done());
    app.addHook('onResponse', (_request, _reply, done) => done());
  },
  'fastify + fastifyMetering (stub meter: plugin alone)': () => plugin(stubMeter()),
  'fastify + fastifyMetering (no network)': () => plugin(inProcessMeter()),
  'fastify + fastifyMetering (to sandbox)': (env) => plugin(sandboxMeter(env)),
};

export async function startFastify(variant, env) {
  const app = Fastify();
  await fastifyVariants[variant](env)(app);
  app.get('/hello', async () => 'hello');
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
}
