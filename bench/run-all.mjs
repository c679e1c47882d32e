// `pnpm bench`: every benchmark, one after the other (never part of the test command).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const scripts = ['request-overhead.mjs', 'delivery-throughput.mjs', 'outage-memory.mjs', 'aggregation.mjs', 'sqlite-store.mjs'];
for (const script of scripts) {
  console.log(`\n## ${script}`);
  execFileSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], { stdio: 'inherit' });
}
