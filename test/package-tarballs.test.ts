// Issue 14, packaging: packs every publishable package the way docs/releasing.md says (pnpm), and
// checks what an npm user would get: a manifest npm can install (no `workspace:` range), the
// metadata the registry shows, a README, LICENSE and CHANGELOG that ship and link to nothing left
// behind, source maps that resolve, and every `exports` target present. Also checks that plain
// `npm pack` refuses loudly instead of producing a tarball npm cannot install.
// Needs the packages built (`pnpm build`, which `pnpm test` runs first).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'test', '.tmp', 'package-tarballs');
const PACKAGES = ['core', 'express', 'fastify', 'hono', 'nestjs', 'sandbox', 'sqlite-store', 'postgres-store', 'cli'];
const REPOSITORY = 'https://github.com/pacspace/pacspace-metering';

interface Manifest {
  name: string;
  version: string;
  license?: string;
  author?: string;
  homepage?: string;
  keywords?: string[];
  sideEffects?: boolean;
  bugs?: { url?: string };
  repository?: { type?: string; url?: string; directory?: string };
  exports?: Record<string, unknown>;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  [field: string]: unknown;
}

interface Unpacked {
  dir: string;
  manifest: Manifest;
  files: string[];
}

/** Every file under `dir`, as posix paths relative to it. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(dir, path) : [path];
  });
}

/** Every string value in `value`'s tree (the targets of an `exports` map). */
function leaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(leaves);
  return [];
}

const unpacked = new Map<string, Unpacked>();

beforeAll(() => {
  for (const name of PACKAGES) {
    if (!existsSync(join(ROOT, 'packages', name, 'dist', 'esm', 'index.js'))) throw new Error(`packages/${name} is not built: run \`pnpm build\` first`);
  }
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  // The release path of docs/releasing.md: pnpm packs, rewriting `workspace:^` to real ranges.
  execFileSync('npx', ['-y', 'pnpm@12.4.2', '-r', '--filter', './packages/**', 'pack', '--pack-destination', OUT], { cwd: ROOT, stdio: 'pipe' });
  for (const name of PACKAGES) {
    const tarball = readdirSync(OUT).find((file) => file.startsWith(`pacspace-metering-${name}-`) && file.endsWith('.tgz'));
    if (!tarball) throw new Error(`pnpm pack made no tarball for packages/${name}`);
    const dir = join(OUT, name);
    mkdirSync(dir);
    execFileSync('tar', ['-xzf', join(OUT, tarball), '-C', dir, '--strip-components=1']);
    unpacked.set(name, { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest, files: listFiles(dir) });
  }
}, 120_000);

const get = (name: string): Unpacked => unpacked.get(name)!;

describe.each(PACKAGES)('the tarball of packages/%s', (name) => {
  it('has a manifest plain npm can install: no workspace: range, internal dependencies at the released version', () => {
    const { manifest } = get(name);
    const version = get('core').manifest.version;
    expect(manifest.version).toBe(version);
    expect(JSON.stringify(manifest)).not.toContain('workspace:');
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
      const deps = (manifest[field] ?? {}) as Record<string, string>;
      for (const [dep, range] of Object.entries(deps)) {
        if (dep.startsWith('@pacspace-metering/')) expect([dep, range]).toEqual([dep, `^${version}`]);
      }
    }
  });

  it('carries the metadata the registry shows: repository with directory, homepage, bugs, keywords, author, license, sideEffects', () => {
    const { manifest } = get(name);
    expect(manifest).toMatchObject({
      name: `@pacspace-metering/${name}`,
      license: 'MIT',
      author: 'pacspace-metering contributors',
      homepage: `${REPOSITORY}/tree/main/packages/${name}#readme`,
      bugs: { url: `${REPOSITORY}/issues` },
      repository: { type: 'git', url: `git+${REPOSITORY}.git`, directory: `packages/${name}` },
      sideEffects: false,
    });
    expect(manifest.keywords).toEqual(expect.arrayContaining(['pacspace', 'metering']));
  });

  it('ships README.md, LICENSE (MIT) and CHANGELOG.md (with an entry for this version)', () => {
    const { dir, files, manifest } = get(name);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'CHANGELOG.md']));
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} pacspace-metering contributors\n/);
    expect(readFileSync(join(dir, 'CHANGELOG.md'), 'utf8')).toContain(`## ${manifest.version}`);
  });

  it('has a README that stands alone: every relative link and image is in the tarball, none leaves it', () => {
    const { dir, files } = get(name);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const targets = [...readme.matchAll(/!?\[[^\]]*\]\(([^)\s]+)[^)]*\)/g)].map((m) => m[1]!);
    const relative = targets.filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#')).map((t) => t.split('#')[0]!);
    const missing = relative.filter((t) => t.startsWith('../') || t.startsWith('/') || !files.includes(posix.normalize(t)));
    expect(missing).toEqual([]);
    // A plain-text mention of a repository path the tarball lacks is a dead end too ("see
    // bench/README.md"); the repository's URL (`.../tree/main/bench/`) is fine.
    expect(readme.match(/(?<![\w/.-])(?:\.\.\/|bench\/|docs\/|examples\/|scripts\/)\S*/g) ?? []).toEqual([]);
  });

  it('has source maps that resolve: every source is in the tarball or embedded (sourcesContent)', () => {
    const { dir, files } = get(name);
    const maps = files.filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const unresolved: string[] = [];
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(join(dir, map), 'utf8')) as { sources: string[]; sourceRoot?: string; sourcesContent?: Array<string | null> };
      parsed.sources.forEach((source, i) => {
        const inTarball = files.includes(posix.normalize(posix.join(posix.dirname(map), parsed.sourceRoot ?? '', source)));
        const embedded = typeof parsed.sourcesContent?.[i] === 'string' && parsed.sourcesContent[i]!.length > 0;
        if (!inTarball && !embedded) unresolved.push(`${map}: ${source}`);
      });
    }
    expect(unresolved).toEqual([]);
  });

  it('contains every file its exports, main, types and bin point at, and no test files', () => {
    const { dir, files, manifest } = get(name);
    const targets = [...leaves(manifest.exports), manifest.main, manifest.types, ...Object.values(manifest.bin ?? {})].filter((t): t is string => typeof t === 'string');
    expect(targets.length).toBeGreaterThan(4);
    for (const target of targets) expect([target, existsSync(join(dir, target)) && statSync(join(dir, target)).isFile()]).toEqual([target, true]);
    expect(files.filter((file) => /\.(test|spec)\.|(^|\/)test-support\//.test(file))).toEqual([]);
  });
});

it('plain `npm pack` in a package refuses, naming pnpm and docs/releasing.md, and leaves no tarball', () => {
  const dir = join(OUT, 'npm-pack');
  mkdirSync(dir, { recursive: true });
  const result = spawnSync('npm', ['pack', '--pack-destination', dir], { cwd: join(ROOT, 'packages', 'express'), encoding: 'utf8' });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain('@pacspace-metering/express: pack and publish with pnpm, not npm');
  expect(result.stderr).toContain('docs/releasing.md');
  expect(readdirSync(dir)).toEqual([]);
}, 60_000);

it('plain `npm publish` in a package refuses before anything is packed or sent', () => {
  const result = spawnSync('npm', ['publish', '--dry-run'], { cwd: join(ROOT, 'packages', 'core'), encoding: 'utf8' });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain('@pacspace-metering/core: pack and publish with pnpm, not npm');
  expect(result.stdout).not.toContain('Tarball Contents');
}, 60_000);
