// A plain Fastify 5 app in ESM TypeScript (strict, exactOptionalPropertyTypes), metered the way
// @pacspace-metering/fastify's quick start says.
import Fastify from 'fastify';
import { createMeter } from '@pacspace-metering/core';
import { fastifyMetering } from '@pacspace-metering/fastify';

const meter = createMeter({ apiKey: process.env.PACSPACE_API_KEY, scope: 'reports-api' });
await meter.verifyCredentials(); // a wrong key stops the start here, instead of every delta later
const app = Fastify();
// The caller's account comes from a header here; a real app's auth hook would set it.
await app.register(fastifyMetering, { meter, customerId: (request) => request.headers['x-account'] as string | undefined });
app.addHook('onClose', async () => {
  const report = await meter.close({ timeoutMs: 10_000 }); // delivers what is queued, then reports
  if (report.pending > 0) console.error(`${report.pending} usage deltas not delivered`, report.pendingReferenceIds);
});

app.get<{ Params: { id: string } }>('/reports/:id', async (request, reply) => {
  if (request.params.id === 'missing') return reply.code(404).send({ error: 'no such report' });
  return { id: request.params.id };
});
app.get('/health', { config: { metering: false } }, async () => 'ok');

const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`listening on ${address}`);
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return; // a second signal must not cut the delivery of what is queued short
    stopping = true;
    void app.close().then(() => process.exit(0));
  });
}
