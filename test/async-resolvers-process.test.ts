// Issue #13, item 7, in a real process under Node's default --unhandled-rejections=throw: resolvers
// that return rejected Promises (every option of meterRequests(), and @Metered's and the Nest
// module's) never crash the app. Each is refused as invalid input naming its field, counted and
// reported; the requests are answered as usual; the process exits 0 on SIGTERM.
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const APP = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'async-resolvers-app.mjs');

interface Report {
  stats: { accepted: number; dropped: Record<string, number> };
  errors: string[];
}

/** The app's Meter report once it has counted `count` refusals (polled; a dead app fails the fetch). */
async function refusals(url: string, count: number): Promise<Report> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const report = (await (await fetch(`${url}/stats`)).json()) as Report;
    if ((report.stats.dropped.invalid ?? 0) >= count || Date.now() > deadline) return report;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('resolvers that return rejected Promises, in a process with --unhandled-rejections=throw', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  it('are refused naming their field, counted and reported, in Express and Nest; the process survives and exits 0', async () => {
    const child = spawn(process.execPath, [APP], { env: { ...process.env, PACSPACE_API_KEY: sandbox.apiKey, PACSPACE_BASE_URL: sandbox.url, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let alive = true;
    void exited.then(() => (alive = false));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        void exited.then(() => reject(new Error(`the app exited before listening: ${stderr}`)));
      });
      const urls = JSON.parse(line) as { express: string; nest: string };
      const expressOptions = ['customerId', 'delta', 'reason', 'metadata', 'isSuccess', 'skip', 'requestId'];
      const nestOptions = ['customerId', 'delta', 'metadata', 'requestId', 'isSuccess'];
      const statuses: number[] = [];
      for (const path of expressOptions) statuses.push((await fetch(`${urls.express}/${path}`)).status);
      for (const path of nestOptions) statuses.push((await fetch(`${urls.nest}/${path}`)).status);
      expect(statuses).toEqual(Array(expressOptions.length + nestOptions.length).fill(200));

      // Once every refusal is counted, an unhandled rejection would already have ended the process.
      const [express, nest] = await Promise.all([refusals(urls.express, expressOptions.length), refusals(urls.nest, nestOptions.length)]);
      // Nothing on stderr but the Meter's own reports of the refusals (no crash, no unhandled rejection).
      const other = stderr.split('\n').filter((l) => l !== '' && !l.includes('[PACSPACE_METERING]') && !l.includes('--trace-warnings'));
      expect({ alive, other }).toEqual({ alive: true, other: [] });
      expect(stderr).toContain('delta refused (invalid)');
      for (const [report, options] of [[express, expressOptions], [nest, nestOptions]] as const) {
        expect(report.stats).toMatchObject({ accepted: 0, dropped: { invalid: options.length } });
        expect(report.errors.map((message) => message.split(':')[0]).sort()).toEqual([...options].sort());
        for (const message of report.errors) expect(message).toMatch(/returned a Promise/);
      }
    } finally {
      if (alive) child.kill('SIGTERM');
    }
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(sandbox.ledger().deltas).toEqual([]);
  });
});
