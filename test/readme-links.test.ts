// Issue 14: README links a reader can follow. Every relative link of every README in the repository
// (root, packages, examples, docs) points at a file that exists, and every `#anchor`, in the same
// file or another Markdown file, names a heading there (GitHub's and npm's heading ids).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function markdownFiles(): string[] {
  const inside = (dir: string) => readdirSync(join(ROOT, dir), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(ROOT, dir, e.name, 'README.md'));
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...inside('packages'), ...inside('examples'), ...docs].filter((p) => existsSync(p));
}

/** The ids GitHub and npm give a file's headings: lower case, punctuation dropped, spaces as '-'. */
function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (heading) ids.add(heading[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return ids;
}

/** Links outside code: `[text](target)` and `![alt](target)`. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[^]*?```/g, '').replace(/`[^`\n]*`/g, '``');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

const files = markdownFiles();

it('finds the READMEs', () => {
  expect(files.length).toBeGreaterThanOrEqual(9);
});

it.each(files.map((file) => [relative(ROOT, file), file]))('%s: every relative link and anchor resolves', (_name, file) => {
  const markdown = readFileSync(file, 'utf8');
  const broken: string[] = [];
  for (const target of links(markdown)) {
    if (/^[a-z]+:/i.test(target)) continue;
    const [path, anchor] = target.split('#') as [string, string | undefined];
    const resolved = path === '' ? file : resolve(dirname(file), path);
    if (!existsSync(resolved)) {
      broken.push(`${target}: no such file`);
      continue;
    }
    if (anchor === undefined) continue;
    const doc = statSync(resolved).isDirectory() ? join(resolved, 'README.md') : resolved;
    if (!doc.endsWith('.md') || !existsSync(doc)) continue;
    if (!headingIds(readFileSync(doc, 'utf8')).has(anchor)) broken.push(`${target}: no heading with that id`);
  }
  expect(broken).toEqual([]);
});
