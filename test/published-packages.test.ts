// Every package under packages/ that is published: docs/releasing.md names it, its `engines` are
// the root's (one Node policy for the whole project, which `pnpm install`'s Node 26 and CI's 22 and
// 24 test), and its README's "Supported runtimes" states that range. A package added without
// these fails here, before a release ships it with another policy or leaves it out.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { name: string; private?: boolean; engines?: { node?: string } };
const ROOT_RANGE = json(join(ROOT, 'package.json')).engines?.node;
const PUBLISHED = readdirSync(join(ROOT, 'packages'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => ({ dir: entry.name, manifest: json(join(ROOT, 'packages', entry.name, 'package.json')) }))
  .filter(({ manifest }) => manifest.private !== true);

describe('published packages', () => {
  it('the root states one Node range, without Node 20 (end of life in April 2026)', () => {
    expect(ROOT_RANGE).toBe('^22.13.0 || >=24.0.0');
    expect(PUBLISHED.length).toBeGreaterThanOrEqual(6);
  });

  it.each(PUBLISHED.map((p) => [p.manifest.name, p]))('%s: named in docs/releasing.md, the root\'s engines, stated in its README', (name, { dir, manifest }) => {
    const releasing = readFileSync(join(ROOT, 'docs', 'releasing.md'), 'utf8');
    expect(releasing).toContain(`| \`${name}\` | \`packages/${dir}\` |`);
    expect(manifest.engines?.node).toBe(ROOT_RANGE);
    const readme = readFileSync(join(ROOT, 'packages', dir, 'README.md'), 'utf8');
    const runtimes = /^## Supported runtimes\n([^]*?)(?=^## |(?![^]))/m.exec(readme)?.[1] ?? '';
    expect(runtimes).toContain(`\`engines\`: \`${ROOT_RANGE}\``);
  });
});
