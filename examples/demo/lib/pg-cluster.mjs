// A throwaway PostgreSQL cluster for the demo's --postgres mode and the benches (the tests have their own helper in TypeScript):
// initdb in a temporary directory (as user postgres when root), 127.0.0.1 on a free port.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

function postgresBin() {
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return dirname(execFileSync('readlink', ['-f', which.stdout.trim()], { encoding: 'utf8' }).trim());
  const root = '/usr/lib/postgresql';
  for (const v of existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  throw new Error('PostgreSQL is not installed (apt-get install postgresql), or pass --pg URL');
}

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

/** Starts a cluster; `fsync` true keeps PostgreSQL's default durability (the benches measure with it on). */
export async function startCluster({ fsync = true } = {}) {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'pacspace-bench-pg-'));
  const root = process.getuid?.() === 0;
  const run = (tool, args) => (root ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, tool), args, { stdio: 'pipe' }));
  if (root) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  run('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8']);
  const port = await freePort();
  run('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=${fsync ? 'on' : 'off'} -c max_connections=200`, 'start']);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Creates a database of its own on the server at `adminUrl` and answers its URL. */
export async function freshDatabase(adminUrl) {
  const { default: pg } = await import('pg');
  const name = `pacspace_demo_${process.pid}_${Date.now() % 1_000_000}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
