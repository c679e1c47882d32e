// Test helper for @pacspace-metering/postgres-store: a real PostgreSQL for a test file. With
// PACSPACE_TEST_PG_URL (set by .ci/run) it creates a fresh database on that server; without it, it
// starts a throwaway cluster in a temporary directory on 127.0.0.1 (initdb as the `postgres` user
// when run as root, which initdb refuses) and stops it afterwards. Not part of the package.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestDatabase {
  /** A connection URL to a database of its own. */
  url: string;
  /** Drops the database (or stops the cluster this helper started). */
  stop(): Promise<void>;
}

/** A fresh database named after `label`, on the CI server or on a cluster started for it. */
export async function startTestDatabase(label: string): Promise<TestDatabase> {
  const name = `t_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const shared = process.env.PACSPACE_TEST_PG_URL;
  if (shared) {
    const admin = new pg.Client({ connectionString: shared });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(shared);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      stop: async () => {
        const client = new pg.Client({ connectionString: shared });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
        await client.end();
      },
    };
  }
  const cluster = await startCluster();
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(cluster.url);
  url.pathname = `/${name}`;
  return { url: url.toString(), stop: cluster.stop };
}

/** Starts a PostgreSQL cluster in a temporary directory, on 127.0.0.1 and a free port. */
export async function startCluster(): Promise<{ url: string; stop(): Promise<void> }> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'pacspace-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) => {
    const command = asRoot ? 'runuser' : join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    return execFileSync(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  };
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`, 'start']);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const command = asRoot ? 'runuser' : join(bin, 'pg_ctl');
      const argv = [...(asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl')] : []), '-D', data, '-m', 'immediate', '-w', 'stop'];
      spawnSync(command, argv, { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The directory of initdb and pg_ctl: from the PATH, else Debian's /usr/lib/postgresql/<version>/bin. */
function postgresBin(): string {
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return execFileSync('dirname', [execFileSync('readlink', ['-f', which.stdout.trim()], { encoding: 'utf8' }).trim()], { encoding: 'utf8' }).trim();
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) if (existsSync(join(root, version, 'bin', 'initdb'))) return join(root, version, 'bin');
  throw new Error('PostgreSQL is not installed (no initdb on the PATH or in /usr/lib/postgresql/*/bin): apt-get install postgresql, or set PACSPACE_TEST_PG_URL');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
