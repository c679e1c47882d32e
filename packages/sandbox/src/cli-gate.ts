import { parseArgs } from 'node:util';
import type { FaultConfig } from './faults.js';
import type { TopUp } from './top-up.js';
import { CUSTOMER_ID_PATTERN } from './validation.js';

/** The command's flags for testing a balance gate: top-ups at start, and a slow or failing derive. */
export const GATE_FLAGS = {
  'top-up': { type: 'string', multiple: true },
  'derive-latency-ms': { type: 'string' },
  'derive-status': { type: 'string' },
} as const;

export const GATE_USAGE = `  --top-up ID=AMOUNT       top up customer ID at start (repeatable; a negative AMOUNT takes)
  --derive-latency-ms MS   delay every balance read (GET /balance/derive)
  --derive-status S        fail every balance read with S (429, 500, 502, 503 or 504)
`;

export const TOP_UP_USAGE = `Usage: pacspace-sandbox top-up CUSTOMER AMOUNT [--url URL] [--api-key KEY] [--reason TEXT]

Tops up (or, with a negative AMOUNT, debits) a customer of a running sandbox.
  --url URL       the sandbox (default http://127.0.0.1:4010)
  --api-key KEY   its API key (default: PACSPACE_API_KEY)
  --reason TEXT   the delta's reason (default top_up)
`;

/** What the gate flags add to the options: the top-ups to make once started, and the derive fault (into `faults`). */
export function gateFlags(values: Record<string, unknown>, faults: FaultConfig, fail: (message: string) => never): TopUp[] {
  const latency = values['derive-latency-ms'] as string | undefined;
  const status = values['derive-status'] as string | undefined;
  if (latency !== undefined || status !== undefined) {
    faults.derive = {};
    if (latency !== undefined) faults.derive.latencyMs = numberFlag('derive-latency-ms', latency, fail);
    if (status !== undefined) faults.derive.status = numberFlag('derive-status', status, fail) as NonNullable<FaultConfig['derive']>['status'];
  }
  return ((values['top-up'] as string[] | undefined) ?? []).map((text) => {
    const match = /^([^=]+)=(-?\d+(?:\.\d+)?)$/.exec(text);
    if (!match || !CUSTOMER_ID_PATTERN.test(match[1]!) || Number(match[2]) === 0) {
      fail(`--top-up must be CUSTOMER=AMOUNT with a customer id of letters, digits, _ . : - and a non-zero amount, e.g. acme=10 (got ${JSON.stringify(text)})`);
    }
    return { customerId: match[1]!, amount: Number(match[2]) };
  });
}

function numberFlag(flag: string, text: string, fail: (message: string) => never): number {
  if (!/^\d+$/.test(text)) fail(`--${flag} must be a whole number (got ${JSON.stringify(text)})`);
  return Number(text);
}

/** Output streams of the command. */
interface Io {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/**
 * `pacspace-sandbox top-up CUSTOMER AMOUNT`: one `POST /_sandbox/top-up` to a running sandbox.
 * Prints the committed delta; a bad argument or a refused top-up prints why (exit status 2 or 1).
 */
export async function runTopUpCommand(argv: string[], io: Io): Promise<void> {
  let parsed: ReturnType<typeof parseTopUp>;
  try {
    parsed = parseTopUp(argv);
  } catch (err) {
    io.err.write(`pacspace-sandbox top-up: ${(err as Error).message}\n${TOP_UP_USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    io.out.write(TOP_UP_USAGE);
    return;
  }
  try {
    const res = await fetch(`${parsed.url.replace(/\/+$/, '')}/_sandbox/top-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': parsed.apiKey },
      body: JSON.stringify(parsed.topUp),
    });
    const body = (await res.json().catch(() => ({}))) as { data?: { recordId?: string; status?: string }; message?: string };
    if (!res.ok) throw new Error(body.message ?? `the sandbox answered ${res.status}`);
    io.out.write(`Topped up ${parsed.topUp.customerId} by ${parsed.topUp.amount}: ${body.data?.recordId} (${body.data?.status})\n`);
  } catch (err) {
    io.err.write(`pacspace-sandbox top-up: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

function parseTopUp(argv: string[]): 'help' | { url: string; apiKey: string; topUp: TopUp } {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { url: { type: 'string' }, 'api-key': { type: 'string' }, reason: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return 'help';
  const [customerId, amountText, extra] = positionals;
  if (customerId === undefined || amountText === undefined || extra !== undefined) throw new Error('give a CUSTOMER and an AMOUNT');
  if (!/^-?\d+(\.\d+)?$/.test(amountText)) throw new Error(`AMOUNT must be a number (got ${JSON.stringify(amountText)})`);
  const apiKey = values['api-key'] ?? process.env.PACSPACE_API_KEY;
  if (apiKey === undefined) throw new Error('give the sandbox API key with --api-key or PACSPACE_API_KEY');
  const topUp: TopUp = { customerId, amount: Number(amountText), ...(values.reason === undefined ? {} : { reason: values.reason }) };
  return { url: values.url ?? 'http://127.0.0.1:4010', apiKey, topUp };
}
