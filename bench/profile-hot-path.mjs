// CPU profile of one variant under load: the server runs here with --cpu-prof, autocannon in a
// child process on the other CPU. Prints the top self-time frames.
// Run: pnpm build && node --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile-hot-path.mjs 'express + meterRequests (no network)'
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startExpress } from './servers/express-variants.mjs';
import { startNest } from './servers/nest-variants.mjs';
import { pinSelf } from './support/processes.mjs';

const variant = process.argv[2] ?? 'express + meterRequests (no network)';
pinSelf(0);
const server = variant.startsWith('nest') ? await startNest(variant, process.env) : await startExpress(variant, process.env);
const url = `http://127.0.0.1:${server.address().port}/hello`;
const bin = fileURLToPath(new URL('./node_modules/.bin/autocannon', import.meta.url));
await new Promise((resolve) => spawn('taskset', ['-c', '1', bin, '-c', '32', '-d', '8', url], { stdio: ['ignore', 'ignore', 'inherit'] }).on('exit', resolve));
process.exit(0);
