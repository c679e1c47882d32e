// Finds the TypeScript and JavaScript snippets of every README, for test/readme-snippets.test.ts.
//
// A snippet may be preceded, on the line right above its fence, by an HTML comment (invisible on
// GitHub and npm) that states what it needs and whether the test also runs it:
//
//   <!-- snippet run=NAME: an optional note
//   declare const authenticate: express.RequestHandler;
//   -->
//
// `run=NAME` names the check that runs the compiled snippet; the lines after the first are the
// prelude, compiled in front of the snippet: declarations of what the surrounding text assumes
// (your own middleware, a logger, `req.user`), never code that changes what the snippet does.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Snippet {
  /** The README, relative to the repository root. */
  readme: string;
  /** README line of the snippet's first line of code (1-based). */
  line: number;
  code: string;
  prelude: string;
  /** The check that runs it, when there is one. */
  run: string | undefined;
}

const LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
const FENCE = /^```\s*([\w-]*)\s*$/;
const MARKER = /^<!-- snippet(?: run=([\w-]+))?(?::[^]*?)?\s*(-->)?\s*$/;

/** Every README.md of the repository: the root's, and those of packages/* and examples/*. */
export function readmePaths(root: string): string[] {
  const inside = (dir: string) =>
    readdirSync(join(root, dir), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(root, dir, entry.name, 'README.md'))
      .filter((path) => {
        try {
          readFileSync(path);
          return true;
        } catch {
          return false;
        }
      });
  return [join(root, 'README.md'), ...inside('packages'), ...inside('examples')];
}

/** The snippets of one README, in order. */
export function snippetsOf(path: string, root: string): Snippet[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    if (LANGUAGES.has(fence[1]!)) {
      snippets.push({ readme: relative(root, path), line: i + 2, code: lines.slice(i + 1, end).join('\n'), ...markerAbove(lines, i) });
    }
    i = end;
  }
  return snippets;
}

/** The `<!-- snippet ... -->` comment ending on the line above the fence at `fenceLine`, if any. */
function markerAbove(lines: string[], fenceLine: number): { prelude: string; run: string | undefined } {
  const above = fenceLine - 1;
  if (above < 0 || !lines[above]!.trimEnd().endsWith('-->')) return { prelude: '', run: undefined };
  let start = above;
  while (start >= 0 && !lines[start]!.startsWith('<!--')) start--;
  const marker = start >= 0 ? MARKER.exec(lines[start]!) : null;
  if (!marker) return { prelude: '', run: undefined };
  const prelude = start === above ? '' : lines.slice(start + 1, above).join('\n');
  return { prelude, run: marker[1] };
}
