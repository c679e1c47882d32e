// Issue #13, items 1, 2, 3 and 6, each in a real child process: a wrong API key is heard about
// with default settings and caught by verifyCredentials(); an awaited emit() keeps a script alive
// through its retry; a timed-out close() lets the process exit; close() reports the meter's life.
import { createMeter } from '@pacspace-metering/core';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./fixtures/meter-script.mjs', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  result: Record<string, unknown>;
}

function run(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      resolve({ code, stdout, stderr, result: line ? (JSON.parse(line) as Record<string, unknown>) : {} });
    });
  });
}

describe('the Meter in a process of its own', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 13 });
  });
  beforeEach(() => {
    sandbox.reset();
    sandbox.setFaults({});
  });
  afterAll(() => sandbox.close());

  it('await emit() keeps a script alive through a retry, and the delta is billed', async () => {
    sandbox.setFaults({ serverError: { requests: [1], statuses: [503] } });
    const { code, result } = await run({ SCENARIO: 'emit-after-a-transient-failure', PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url });
    expect(code).toBe(0);
    expect(result).toEqual({ receipt: { referenceId: 'job:nightly_export:acme:job-1', attempts: 2 } });
    expect(sandbox.ledger().deltas.map((d) => d.referenceId)).toEqual(['job:nightly_export:acme:job-1']);
  });

  it('a wrong API key is said on stderr with default settings (never the secret), counted as unauthorized, and caught by verifyCredentials()', async () => {
    const secret = 'pk_test_wrong.thisisnotthesecret';
    const { code, stderr, result } = await run({ SCENARIO: 'wrong-key', PACSPACE_API_KEY: secret, PACSPACE_BASE_URL: sandbox.url });
    expect(code).toBe(0);
    expect(result.verify).toMatchObject({ status: 401, code: 'INVALID_API_KEY', message: expect.stringContaining('PACSPACE_API_KEY') });
    expect(result.stats).toMatchObject({ dropped: { unauthorized: 5 }, failed: { INVALID_API_KEY: 5 } });
    expect(result.report).toMatchObject({ delivered: 0, failed: 5, dropped: 5, pending: 0 });
    expect(stderr).toContain('PACSPACE_METERING');
    expect(stderr).toContain('PacSpace refused the API key');
    // One line for the kind, not one per delta.
    expect(stderr.split('PacSpace refused the API key').length - 1).toBe(1);
    expect(stderr).not.toContain('thisisnotthesecret');
    expect(sandbox.ledger().deltas).toHaveLength(0);
  });

  it.each(['built-in', 'sdk'])('a close() that times out with requests in flight lets the process exit (%s client)', async (client) => {
    sandbox.setFaults({ latencyMs: 30_000 });
    const { code, result } = await run({ SCENARIO: 'close-times-out', CLIENT: client, PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url });
    expect(code).toBe(0);
    expect(result.report).toEqual({ timedOut: true, pending: 20 });
    // Nothing of the meter's keeps the event loop alive once close() has returned.
    expect(result.alive).toEqual([]);
  });

  it('enabled: false needs no API key, sends nothing, answers deltas in-process and says so once', async () => {
    const env = { ...process.env };
    delete env.PACSPACE_API_KEY;
    delete env.PACSPACE_BASE_URL;
    const { code, stderr, result } = await run({ ...(env as Record<string, string>), SCENARIO: 'disabled' });
    expect(code).toBe(0);
    expect(result).toMatchObject({
      queued: { accepted: true, referenceId: 'dev:api_request:acme:r1' },
      receipt: { referenceId: 'dev:export:acme:r2', dryRun: true },
      refused: 'invalid',
      report: { delivered: 2, dropped: 1, pending: 0 },
      requests: 1,
    });
    expect(stderr.split('metering is disabled').length - 1).toBe(1);
  });

  it('close() reports what the meter delivered over its life, not only during the final drain', async () => {
    const meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url });
    for (let i = 0; i < 3; i++) meter.enqueue({ customerId: 'acme', delta: -1, reason: 'r' });
    await meter.flush();
    expect(await meter.close()).toMatchObject({ delivered: 3, failed: 0, dropped: 0, pending: 0, timedOut: false });
  });
});
