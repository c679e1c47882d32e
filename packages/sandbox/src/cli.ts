import { parseArgs } from 'node:util';
import { SandboxConfigError } from './config-error.js';
import type { FaultConfig } from './faults.js';
import { resolveOptions, type SandboxOptions } from './options.js';
import { startSandbox } from './server.js';
import { GATE_FLAGS, GATE_USAGE, gateFlags, runTopUpCommand } from './cli-gate.js';
import type { TopUp } from './top-up.js';

/** Default port for the command (a library user gets a free port instead). */
export const DEFAULT_CLI_PORT = 4010;

export const USAGE = `Usage: pacspace-sandbox [options]

Runs a local PacSpace-compatible Balance API server.

Options:
  --port N                 port to listen on (default ${DEFAULT_CLI_PORT}; 0 picks a free one)
  --host HOST              interface to bind (default 127.0.0.1)
  --api-key KEY            accepted X-Api-Key (default: a generated pk_test_sandbox.… key)
  --seed N                 seed for random fault decisions (default 1)
  --latency-ms MS|MIN-MAX  delay every write request
  --server-error-rate R    answer 500/502/503/504 to this share of writes (0..1)
  --rate-limit-rate R      answer 429 RATE_LIMITED to this share of writes (0..1)
  --retry-after S          Retry-After seconds for 429 answers (default 1)
  --reset-rate R           reset the connection before processing (0..1)
  --commit-drop-rate R     commit, then drop the connection without answering (0..1)
  --cadence-customer ID    answer 429 CADENCE_LIMIT to every write for this customer
  --queued-ms MS           keep committed deltas QUEUED this long (default 0: instant)
  --processing-ms MS       then PROCESSING this long, before VERIFIED (default 0)
  --single-delta-dedupe M  idempotency-key (default) or reference-id: how POST /delta knows a replay
${GATE_USAGE}  -h, --help               show this help

       pacspace-sandbox top-up CUSTOMER AMOUNT [--url URL] [--api-key KEY]
         tops up a customer of a running sandbox (see pacspace-sandbox top-up --help)
`;

/** A command-line mistake; the message names the flag. Exit status 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Which flag sets which option, to name the flag when option validation fails. */
const FLAG_FOR_FIELD: [string, string][] = [
  ['port', '--port'],
  ['host', '--host'],
  ['apiKey', '--api-key'],
  ['seed', '--seed'],
  ['faults.latencyMs', '--latency-ms'],
  ['faults.serverError.rate', '--server-error-rate'],
  ['faults.rateLimit.rate', '--rate-limit-rate'],
  ['faults.resetBeforeProcessing.rate', '--reset-rate'],
  ['faults.commitThenDrop.rate', '--commit-drop-rate'],
  ['faults.cadenceLimit.customerId', '--cadence-customer'],
  ['faults.rateLimit.retryAfterSeconds', '--retry-after'],
  ['faults.cadenceLimit.retryAfterSeconds', '--retry-after'],
  ['verification.queuedMs', '--queued-ms'],
  ['verification.processingMs', '--processing-ms'],
  ['singleDeltaDedupe', '--single-delta-dedupe'],
  ['faults.derive.latencyMs', '--derive-latency-ms'],
  ['faults.derive.status', '--derive-status'],
];

/** The flags `parseCliArgs` takes, as `node:util` parseArgs reads them. */
const CLI_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'api-key': { type: 'string' },
  seed: { type: 'string' },
  'latency-ms': { type: 'string' },
  'server-error-rate': { type: 'string' },
  'rate-limit-rate': { type: 'string' },
  'retry-after': { type: 'string' },
  'reset-rate': { type: 'string' },
  'commit-drop-rate': { type: 'string' },
  'cadence-customer': { type: 'string' },
  'queued-ms': { type: 'string' },
  'processing-ms': { type: 'string' },
  'single-delta-dedupe': { type: 'string' },
  ...GATE_FLAGS,
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Turns command-line arguments into sandbox options, checking every value.
 *
 * @throws CliUsageError naming the bad flag.
 * @example
 * parseCliArgs(['--port', '0', '--server-error-rate', '0.2']);
 * // { help: false, options: { port: 0, faults: { serverError: { rate: 0.2 } } } }
 */
export function parseCliArgs(argv: string[]): { help: true } | { help: false; options: SandboxOptions; topUps?: TopUp[] } {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: CLI_OPTIONS }));
  } catch (err) {
    throw new CliUsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return { help: true };

  const str = (flag: string): string | undefined => values[flag] as string | undefined;
  const num = (flag: string): number | undefined => {
    const text = str(flag);
    if (text === undefined) return undefined;
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new CliUsageError(`--${flag} must be a number (got ${JSON.stringify(text)})`);
    return Number(text);
  };

  const retryAfterSeconds = num('retry-after') ?? 1;
  const faults: FaultConfig = {};
  const latency = str('latency-ms');
  if (latency !== undefined) {
    const range = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(latency);
    faults.latencyMs = range ? { min: Number(range[1]), max: Number(range[2]) } : num('latency-ms');
  }
  const serverErrorRate = num('server-error-rate');
  if (serverErrorRate !== undefined) faults.serverError = { rate: serverErrorRate };
  const rateLimitRate = num('rate-limit-rate');
  if (rateLimitRate !== undefined) faults.rateLimit = { rate: rateLimitRate, retryAfterSeconds };
  const resetRate = num('reset-rate');
  if (resetRate !== undefined) faults.resetBeforeProcessing = { rate: resetRate };
  const commitDropRate = num('commit-drop-rate');
  if (commitDropRate !== undefined) faults.commitThenDrop = { rate: commitDropRate };
  const cadenceCustomer = str('cadence-customer');
  if (cadenceCustomer !== undefined) faults.cadenceLimit = { customerId: cadenceCustomer, retryAfterSeconds };
  const topUps = gateFlags(values, faults, (message) => {
    throw new CliUsageError(message);
  });

  const options: SandboxOptions = { port: num('port') ?? DEFAULT_CLI_PORT, faults };
  const host = str('host');
  if (host !== undefined) options.host = host;
  const apiKey = str('api-key');
  if (apiKey !== undefined) options.apiKey = apiKey;
  const seed = num('seed');
  if (seed !== undefined) options.seed = seed;
  const queuedMs = num('queued-ms');
  const processingMs = num('processing-ms');
  if (queuedMs !== undefined || processingMs !== undefined) options.verification = { queuedMs: queuedMs ?? 0, processingMs: processingMs ?? 0 };
  const singleDeltaDedupe = str('single-delta-dedupe');
  if (singleDeltaDedupe !== undefined) options.singleDeltaDedupe = singleDeltaDedupe as SandboxOptions['singleDeltaDedupe'];

  try {
    resolveOptions(options); // same checks startSandbox makes, reported against the flag
  } catch (err) {
    if (!(err instanceof SandboxConfigError)) throw err;
    const flag = FLAG_FOR_FIELD.find(([field]) => err.field === field || err.field.startsWith(`${field}.`))?.[1];
    throw new CliUsageError(flag ? `${flag}${err.message.slice(err.field.length)}` : err.message);
  }
  return topUps.length > 0 ? { help: false, options, topUps } : { help: false, options };
}

/** Output streams, replaceable for tests. */
export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/**
 * Runs the `pacspace-sandbox` command: starts the sandbox, prints its URL and API key, and closes it
 * on SIGINT or SIGTERM (exit status 0). Bad flags print a message and set exit status 2.
 *
 * @example
 * // bin/pacspace-sandbox.cjs
 * require('../dist/cjs/cli.js').main(process.argv.slice(2));
 */
export async function main(argv: string[], io: CliIo = { out: process.stdout, err: process.stderr }): Promise<void> {
  if (argv[0] === 'top-up') return runTopUpCommand(argv.slice(1), io);
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    io.err.write(`pacspace-sandbox: ${err.message}\nRun pacspace-sandbox --help for usage.\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    io.out.write(USAGE);
    return;
  }

  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sandbox = await startSandbox(parsed.options);
  } catch (err) {
    io.err.write(`pacspace-sandbox: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    return;
  }
  const faultNames = Object.keys(parsed.options.faults ?? {});
  io.out.write(
    `PacSpace sandbox listening on ${sandbox.url}\n` +
      `API key: ${sandbox.apiKey}\n` +
      `Page: ${sandbox.url}/ (paste the API key there)\n` +
      `Faults: ${faultNames.length > 0 ? faultNames.join(', ') : 'none'}\n`,
  );
  for (const { customerId, amount } of parsed.topUps ?? []) sandbox.topUp(customerId, amount);
  if (parsed.topUps) io.out.write(`Top-ups: ${parsed.topUps.map((t) => `${t.customerId} ${t.amount > 0 ? '+' : ''}${t.amount}`).join(', ')}\n`);

  const shutdown = (): void => {
    process.off('SIGINT', shutdown);
    process.off('SIGTERM', shutdown);
    void sandbox.close().then(() => {
      io.out.write('PacSpace sandbox stopped\n');
      process.exitCode = 0;
    });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
