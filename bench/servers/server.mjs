// Child process: starts one variant, reports its port, and answers CPU-usage requests over IPC.
import { startExpress, expressVariants } from './express-variants.mjs';
import { fastifyVariants, startFastify } from './fastify-variants.mjs';
import { startNest } from './nest-variants.mjs';
import { flushAll } from './flushers.mjs';

const variant = process.argv[2];
const server =
  variant in expressVariants ? await startExpress(variant, process.env)
  : variant in fastifyVariants ? await startFastify(variant, process.env)
  : await startNest(variant, process.env);
process.on('message', (message) => {
  if (message === 'cpu') process.send({ cpu: process.cpuUsage(), memory: process.memoryUsage() });
  // What the variant still holds (a partial batch) is delivered before the harness counts.
  if (message === 'flush') flushAll().then(() => process.send({ flushed: true }));
});
process.send({ port: server.address().port });
