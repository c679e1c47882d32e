// The sandbox, installed from its tarball and run through its `pacspace-sandbox` command.
import { join } from 'node:path';
import { start } from './processes.mjs';

/**
 * Starts `pacspace-sandbox --port 0` from the project where its tarball is installed, and reads the
 * URL and API key it prints.
 *
 * @example
 * const sandbox = await startSandbox(dir, logPath);
 * await sandbox.ledger(); // GET /_sandbox/ledger
 */
export async function startSandbox(projectDir, logPath) {
  const bin = join(projectDir, 'node_modules', '.bin', 'pacspace-sandbox');
  const proc = start(bin, ['--port', '0', '--host', '127.0.0.1'], { cwd: projectDir, logPath });
  try {
    const [, url] = await proc.waitFor(/^PacSpace sandbox listening on (http:\/\/127\.0\.0\.1:\d+)$/, 30_000);
    const [, apiKey] = await proc.waitFor(/^API key: (\S+)$/, 5_000);
    return {
      url,
      apiKey,
      /** The ledger snapshot (`GET /_sandbox/ledger`). */
      async ledger() {
        const res = await fetch(`${url}/_sandbox/ledger`, { headers: { 'x-api-key': apiKey } });
        if (res.status !== 200) throw new Error(`GET /_sandbox/ledger answered ${res.status}: ${await res.text()}`);
        const body = await res.json(); // the Balance API envelope: { success, data }
        return body.data;
      },
      /** SIGTERM, then the exit; the command must say it stopped and exit 0. */
      async stop() {
        proc.child.kill('SIGTERM');
        const exit = await proc.exited;
        if (exit.code !== 0) throw new Error(`pacspace-sandbox exited with ${JSON.stringify(exit)} on SIGTERM; output:\n${proc.output()}`);
        await proc.waitFor(/^PacSpace sandbox stopped$/, 1_000);
      },
      kill: () => proc.kill(),
    };
  } catch (err) {
    proc.kill();
    throw err;
  }
}
