// Finds the TypeScript and JavaScript snippets of every README, for test/readme-snippets.test.ts.
//
// A snippet may be preceded, on the line right above its fence, by an HTML comment (invisible on
// GitHub and npm) that states what it needs and whether the test also runs it:
//
//   <!-- snippet file=app.ts run=NAME: an optional note
//   declare const authenticate: express.RequestHandler;
//   -->
//
// `run=NAME` names the check that runs the compiled snippet; `file=NAME` gives the snippet the file
// name the README gives it (in a folder of its own per README), so that snippets that import each
// other (`./app.js` from `app.test.ts`) compile and run together; the lines after the first are the
// prelude, compiled in front of the snippet: declarations of what the surrounding text assumes
// (your own middleware, a logger), never code that changes what the snippet does.
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
  /** The file name the README gives it (`file=app.ts`), when it gives one. */
  file: string | undefined;
}

const LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
const FENCE = /^```\s*([\w-]*)\s*$/;
const MARKER = /^<!-- snippet(?: file=([\w.-]+))?(?: run=([\w-]+))?(?::[^]*?)?\s*(-->)?\s*$/;

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
function markerAbove(lines: string[], fenceLine: number): { prelude: string; run: string | undefined; file: string | undefined } {
  const above = fenceLine - 1;
  if (above < 0 || !lines[above]!.trimEnd().endsWith('-->')) return { prelude: '', run: undefined, file: undefined };
  let start = above;
  while (start >= 0 && !lines[start]!.startsWith('<!--')) start--;
  const marker = start >= 0 ? MARKER.exec(lines[start]!) : null;
  if (!marker) return { prelude: '', run: undefined, file: undefined };
  const prelude = start === above ? '' : lines.slice(start + 1, above).join('\n');
  return { prelude, file: marker[1], run: marker[2] };
}
