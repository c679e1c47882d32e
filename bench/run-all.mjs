// `pnpm bench`: every benchmark, one after the other (never part of the test command).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const hasValgrind = (() => {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const scripts = ['request-instructions.mjs', 'request-overhead.mjs', 'delivery-throughput.mjs', 'outage-memory.mjs', 'aggregation.mjs', 'sqlite-store.mjs', 'postgres-store.mjs', 'serverless-flush.mjs'];
for (const script of scripts) {
  console.log(`\n## ${script}`);
  if (script === 'request-instructions.mjs' && !hasValgrind) {
    console.log('skipped: valgrind is not installed (Debian: apt-get install valgrind)');
    continue;
  }
  execFileSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], { stdio: 'inherit' });
}
