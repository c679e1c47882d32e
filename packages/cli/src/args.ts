import { parseArgs } from 'node:util';

/**
 * A command line the CLI cannot run: the message names the flag or word; exit code 2.
 *
 * @example
 * throw new UsageError('--id: must be a positive integer (got "x")');
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A parsed command line.
 *
 * @example
 * parseCommandLine(['status', '--sqlite', 'm.db']); // { name: 'status', target: { kind: 'sqlite', path: 'm.db' }, json: false }
 */
export type Command =
  | { name: 'help' }
  | { name: 'status'; target: Target; json: boolean }
  | ({ name: 'list'; target: Target; json: boolean } & Filter)
  | ({ name: 'export'; target: Target; out?: string } & Filter)
  | ({ name: 'replay'; target: Target; allowExpiredKeys: boolean } & Filter);

/**
 * Which dead letters a command applies to (`--reason`, `--id`); empty: all.
 *
 * @example
 * const filter: Filter = { reason: 'max_elapsed', ids: [12] };
 */
export interface Filter {
  reason?: string;
  ids?: number[];
}

/**
 * Which outbox a command works on: a SQLite store file (`--sqlite FILE`), or the shared Postgres
 * outbox (`--postgres URL`, optionally `--schema`).
 *
 * @example
 * const target: Target = { kind: 'postgres', url: 'postgres://localhost/app', schema: 'pacspace_metering' };
 */
export type Target = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema?: string };

type FlagName = 'sqlite' | 'postgres' | 'schema' | 'json' | 'reason' | 'id' | 'out' | 'allow-expired-keys';

const FLAGS = {
  sqlite: { type: 'string' },
  postgres: { type: 'string' },
  schema: { type: 'string' },
  json: { type: 'boolean' },
  reason: { type: 'string' },
  id: { type: 'string', multiple: true },
  out: { type: 'string' },
  'allow-expired-keys': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Which flags each command takes. */
const ALLOWED: Record<Exclude<Command['name'], 'help'>, FlagName[]> = {
  status: ['sqlite', 'postgres', 'schema', 'json'],
  list: ['sqlite', 'postgres', 'schema', 'reason', 'id', 'json'],
  export: ['sqlite', 'postgres', 'schema', 'reason', 'id', 'out'],
  replay: ['sqlite', 'postgres', 'schema', 'reason', 'id', 'allow-expired-keys'],
};

/**
 * Parses `argv` (without `node` and the script); throws {@link UsageError} naming what is wrong.
 *
 * @example
 * parseCommandLine(['dead-letters', 'replay', '--sqlite', 'm.db', '--id', '7']); // { name: 'replay', target: { kind: 'sqlite', path: 'm.db' }, ids: [7], allowExpiredKeys: false }
 */
export function parseCommandLine(argv: string[]): Command {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err as Error & { code?: string }));
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0 || positionals[0] === 'help') return { name: 'help' };
  const name = commandName(positionals);
  for (const flag of Object.keys(values) as Array<FlagName | 'help'>) {
    if (flag !== 'help' && !ALLOWED[name].includes(flag)) throw new UsageError(`--${flag} is not a flag of '${label(name)}' (its flags: ${ALLOWED[name].map((f) => `--${f}`).join(', ')})`);
  }
  const target = targetOf(values, name);
  const filter = filterOf(values);
  switch (name) {
    case 'status':
      return { name, target, json: values.json ?? false };
    case 'list':
      return { name, target, ...filter, json: values.json ?? false };
    case 'export':
      if (values.out !== undefined && values.out.trim() === '') throw new UsageError('--out: must name a file');
      return { name, target, ...filter, ...(values.out !== undefined ? { out: values.out } : {}) };
    case 'replay':
      return { name, target, ...filter, allowExpiredKeys: values['allow-expired-keys'] ?? false };
  }
}

/** `--sqlite FILE`, or `--postgres URL` with an optional `--schema`: exactly one of the two. */
function targetOf(values: { sqlite?: string; postgres?: string; schema?: string }, name: Exclude<Command['name'], 'help'>): Target {
  const { sqlite, postgres, schema } = values;
  if (sqlite !== undefined && postgres !== undefined) throw new UsageError('--sqlite and --postgres: give one of them (a SQLite file, or a Postgres URL)');
  if (postgres !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(postgres)) throw new UsageError(`--postgres: must be a postgres:// URL (got ${JSON.stringify(postgres)})`);
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new UsageError(`--schema: must be 1-63 lower-case letters, digits or _, starting with a letter or _ (got ${JSON.stringify(schema)})`);
    return schema === undefined ? { kind: 'postgres', url: postgres } : { kind: 'postgres', url: postgres, schema };
  }
  if (schema !== undefined) throw new UsageError('--schema: only with --postgres');
  if (sqlite === undefined) throw new UsageError(`--sqlite FILE (or --postgres URL) is required for '${label(name)}'`);
  if (sqlite.trim() === '') throw new UsageError('--sqlite: must name a file');
  return { kind: 'sqlite', path: sqlite };
}

/** `--reason` and `--id`, checked. */
function filterOf(values: { reason?: string; id?: string[] }): Filter {
  const { reason } = values;
  if (reason !== undefined && !/^[a-z_]{1,64}$/.test(reason)) throw new UsageError(`--reason: must be a reason such as rejected, integrity, max_attempts, max_elapsed or corrupt (got ${JSON.stringify(reason)})`);
  const ids = values.id?.map((raw) => {
    if (!/^[1-9][0-9]{0,15}$/.test(raw)) throw new UsageError(`--id: must be a positive integer, a dead letter's id (got ${JSON.stringify(raw)})`);
    return Number(raw);
  });
  return { ...(reason !== undefined ? { reason } : {}), ...(ids !== undefined ? { ids } : {}) };
}

function commandName(positionals: string[]): Exclude<Command['name'], 'help'> {
  const [first, second, ...rest] = positionals;
  if (first === 'status') {
    if (second !== undefined) throw new UsageError(`unexpected argument '${second}' after 'status'`);
    return 'status';
  }
  if (first === 'dead-letters') {
    if (second === undefined) throw new UsageError("'dead-letters' needs a subcommand: list, export or replay");
    if (second !== 'list' && second !== 'export' && second !== 'replay') throw new UsageError(`unknown subcommand 'dead-letters ${second}' (use list, export or replay)`);
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' after 'dead-letters ${second}'`);
    return second;
  }
  throw new UsageError(`unknown command '${first}' (use status or dead-letters)`);
}

function label(name: Exclude<Command['name'], 'help'>): string {
  return name === 'status' ? 'status' : `dead-letters ${name}`;
}

function describeParseError(err: Error & { code?: string }): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${flag ?? ''}`.trim();
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(err.message) ? `${flag ?? 'a flag'} needs a value` : `${flag ?? 'a flag'} takes no value`;
  }
  return err.message;
}

/**
 * The `--help` text.
 *
 * @example
 * process.stdout.write(USAGE);
 */
export const USAGE = `Usage: pacspace-metering <command> --sqlite FILE [flags]
       pacspace-metering <command> --postgres URL [--schema NAME] [flags]

Inspect and repair the outbox of a PacSpace Meter: a SQLite file (@pacspace-metering/sqlite-store)
or the shared Postgres outbox (@pacspace-metering/postgres-store; --schema defaults to
pacspace_metering). The store package is loaded from the current directory (run this in your
app's directory), else from next to this command. Reading works while the apps run; nothing here
takes a lock they need.

Commands (each takes --sqlite FILE or --postgres URL):
  status [--json]
      Pending deltas and the age of the oldest, the next attempt, pending deltas per Meter,
      dead letters by reason; which process has the file open, or which instances hold leases.
  dead-letters list [--reason R] [--id N]... [--json]
      Deltas the meter gave up on, with their last error.
  dead-letters export [--reason R] [--id N]... [--out FILE.jsonl]
      The same as JSON Lines (to stdout without --out), the frozen body included.
  dead-letters replay [--reason R] [--id N]... [--allow-expired-keys]
      Moves dead letters back to pending: the next Meter that opens the file (with
      --postgres: the next instance that polls the outbox) sends them again with the same
      body and Idempotency-Key. Without --reason/--id, 409 (integrity) and corrupt letters
      are left alone: a resend cannot fix them.

Reasons: unauthorized (401/403: the API key), rejected (other 4xx), integrity (409), max_attempts,
max_elapsed, corrupt (a row whose body is not its delta; never sent).
Exit codes: 0 done, 1 the store could not be read or changed (or is not installed), 2 bad command line.
`;
