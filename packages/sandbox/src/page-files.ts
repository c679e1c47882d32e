import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reply } from './envelope.js';

/** The files of the page, by the path they are served at. Nothing else under the page is reachable. */
const FILES: Record<string, { name: string; type: string }> = {
  '/': { name: 'index.html', type: 'text/html; charset=utf-8' },
  '/page/page.js': { name: 'page.js', type: 'text/javascript; charset=utf-8' },
  '/page/gate.js': { name: 'gate.js', type: 'text/javascript; charset=utf-8' },
  '/page/page.css': { name: 'page.css', type: 'text/css; charset=utf-8' },
};

/**
 * The page only talks to its own origin and runs no inline code, so data shown on it (metadata
 * is whatever clients sent) cannot run as script; no referrer leaves it.
 */
const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

let pageDir: string | null | undefined;

/** The page file served at `path` (GET only), or undefined when `path` is not one of them. */
export function pageFile(path: string): Reply | undefined {
  // Browsers ask for it on their own; an empty answer keeps it out of the request log.
  if (path === '/favicon.ico') return { status: 204, body: '', headers: HEADERS, outcome: 'read' };
  const file = FILES[path];
  if (!file) return undefined;
  pageDir ??= findPageDir();
  if (pageDir === null) {
    const body = 'The page files are missing from this install of @pacspace-metering/sandbox (expected a page/ folder in the package).';
    return { status: 500, body, headers: { 'content-type': 'text/plain; charset=utf-8' }, outcome: 'error' };
  }
  return { status: 200, body: readFileSync(join(pageDir, file.name), 'utf8'), headers: { ...HEADERS, 'content-type': file.type }, outcome: 'read' };
}

/**
 * The package's `page/` folder. The code runs from `src/` (tests), `dist/esm/` or `dist/cjs/`, and
 * one source must find it in all three; the module's own file name comes from the call stack, the
 * one place both module formats expose it without `import.meta` (which CommonJS cannot parse).
 */
function findPageDir(): string | null {
  let dir = dirname(ownFileName());
  for (let up = 0; up < 3; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'page', 'index.html'))) return join(dir, 'page');
  }
  return null;
}

function ownFileName(): string {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, frames) => frames;
    const frames = new Error().stack as unknown as NodeJS.CallSite[];
    const name = frames[0]?.getFileName() ?? '';
    return name.startsWith('file:') ? fileURLToPath(name) : name;
  } finally {
    Error.prepareStackTrace = original;
  }
}
