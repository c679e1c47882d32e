// Issue 24, first contact: each package README opens with a short path (install, the smallest
// working snippet, how to run it against the sandbox, where to go next) before its reference; it
// names every package its snippets import in an install command; and every document spells the
// sandbox command one way. (test/readme-snippets.test.ts compiles and runs the snippets.)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SANDBOX_COMMAND = 'npx -y @pacspace-metering/sandbox';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const packageReadmes = readdirSync(join(ROOT, 'packages')).map((name) => `packages/${name}/README.md`);

/** The packages a README's code snippets import (bare specifiers, reduced to the package name). */
function importedPackages(markdown: string): string[] {
  const code = [...markdown.matchAll(/```(?:ts|typescript|js|javascript|mjs)\n([^]*?)```/g)].map((m) => m[1]).join('\n');
  const specifiers = [...code.matchAll(/(?:from|import)\s+'([^'.][^']*)'/g)].map((m) => m[1]!);
  const packages = specifiers
    .filter((s) => !s.includes(':')) // node:fs, cloudflare:workers: the runtime's, nothing to install
    .map((s) => s.split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/'));
  return [...new Set(packages)];
}

/** Every markdown document of the repository that a user reads (changelogs record history). */
function documents(dir = ''): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ['node_modules', 'dist', '.git', '.tmp'].includes(entry.name) ? [] : documents(path);
    return entry.name.endsWith('.md') && entry.name !== 'CHANGELOG.md' ? [path] : [];
  });
}

describe('first contact in the package READMEs', () => {
  it.each(packageReadmes.filter((p) => !p.includes('/cli/') && !p.includes('/sandbox/')))(
    '%s opens with install, a snippet, the sandbox command and where to go next, within its first 70 lines',
    (readme) => {
      const opening = read(readme).split('\n').slice(0, 70).join('\n');
      expect(opening).toMatch(/npm install @pacspace-metering\//);
      expect(opening).toMatch(/```(ts|js)\n/);
      expect(opening).toContain(`${SANDBOX_COMMAND} --port 4010`);
      expect(opening).toMatch(/PACSPACE_BASE_URL=http:\/\/127\.0\.0\.1:4010/);
      expect(opening).toMatch(/^Next: /m);
    },
  );

  it.each(['packages/cli/README.md', 'packages/sandbox/README.md'])('%s shows its command within its first 30 lines', (readme) => {
    const opening = read(readme).split('\n').slice(0, 30).join('\n');
    expect(opening).toMatch(/npx -y @pacspace-metering\/(cli|sandbox) /);
  });

  it.each(packageReadmes)('%s names every package its snippets import in an install command', (readme) => {
    const markdown = read(readme);
    const installs = [...markdown.matchAll(/npm install[^\n`]*/g)].map((m) => m[0]).join(' ');
    const unnamed = importedPackages(markdown).filter((name) => !new RegExp(`(^|\\s)${name.replace(/[/.]/g, '\\$&')}(@|\\s|$)`).test(installs));
    expect(unnamed).toEqual([]);
  });

  it('every document spells the sandbox command one way', () => {
    const other = documents().flatMap((path) =>
      read(path)
        .split('\n')
        .map((line, i) => ({ where: `${relative(ROOT, join(ROOT, path))}:${i + 1}`, line }))
        .filter(({ line }) => /\bnpx (?!-y @pacspace-metering\/)[^\s]*sandbox|(^|[\s`])pacspace-sandbox\s/.test(line)),
    );
    expect(other).toEqual([]);
  });
});
