// The sandbox, installed from its tarball and run through its `pacspace-sandbox` command.
import { join } from 'node:path';
import { run, start } from './processes.mjs';

/**
 * The command every README gives, `npx -y @pacspace-metering/sandbox`, run where the tarball is
 * installed: it must find the installed package (the registry would not have this build) and
 * print its usage. (The checks start the bin itself: npx does not pass SIGTERM on to it.)
 *
 * @example
 * await checkReadmeCommand(dir, logPath);
 */
export async function checkReadmeCommand(projectDir, logPath) {
  const { stdout } = await run('npx', ['-y', '@pacspace-metering/sandbox', '--help'], { cwd: projectDir, logPath, timeoutMs: 120_000 });
  if (!stdout.startsWith('Usage: ')) throw new Error(`npx -y @pacspace-metering/sandbox --help printed no usage:\n${stdout}`);
}

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
