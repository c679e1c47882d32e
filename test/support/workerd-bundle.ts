// Lays out a Worker for Cloudflare's workerd (from the npm registry, through the lockfile): the
// entry and its sibling files, and the ESM builds of the packages it imports, each module named by
// its path, with bare imports of those packages rewritten to those paths (workerd resolves a bare
// specifier against the importing module's folder, so it has no node_modules lookup of its own).
import { mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Where a package is: the test package's node_modules, as Node resolves it. */
const NODE_MODULES = join(dirname(new URL(import.meta.url).pathname), '..', 'node_modules');

interface PackageExports {
  [subpath: string]: string | { import?: string | { default?: string } };
}

/** The ESM file of each export of `name` (`hono/route` -> `dist/helper/route/index.js`), relative to the package. */
function esmExports(name: string, dir: string): Map<string, string> {
  const exports = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: PackageExports }).exports;
  const targets = new Map<string, string>();
  for (const [subpath, target] of Object.entries(exports)) {
    const esm = typeof target === 'string' ? target : typeof target.import === 'string' ? target.import : target.import?.default;
    if (esm?.endsWith('.js')) targets.set(subpath === '.' ? name : `${name}${subpath.slice(1)}`, esm.replace(/^\.\//, ''));
  }
  return targets;
}

/** Every `.js`/`.mjs` file under `dir`, but for the folders named in `skip` (CommonJS builds, types). */
function scripts(dir: string, skip: ReadonlySet<string>): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return skip.has(entry) ? [] : scripts(path, skip);
    return /\.m?js$/.test(entry) ? [path] : [];
  });
}

/**
 * Writes `config.capnp` and the modules it embeds into `out`, and returns the config's path: a
 * Worker whose main module is `entry`, with `nodejs_compat`, text `bindings`, an HTTP socket on
 * 127.0.0.1 (port 0: workerd says which with --verbose) and outbound access to 127.0.0.1 only.
 */
export function layOutWorker(out: string, entry: string, packages: string[], bindings: Record<string, string>, compatibilityDate: string): string {
  const specifiers = new Map<string, string>();
  const files: Array<[from: string, to: string]> = [];
  for (const name of packages) {
    const dir = realpathSync(join(NODE_MODULES, name));
    const exports = esmExports(name, dir);
    for (const [specifier, file] of exports) specifiers.set(specifier, `/pkg/${name}/${file}`);
    const root = join(dir, dirname(exports.get(name)!));
    for (const file of scripts(root, new Set(['cjs', 'types']))) files.push([file, `pkg/${name}/${relative(dir, file)}`]);
  }
  const rewrite = (code: string) => code.replace(/(\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"]+)\2/g, (whole, lead: string, quote: string, specifier: string) => {
    const path = specifiers.get(specifier);
    return path === undefined ? whole : `${lead}${quote}${path}${quote}`;
  });
  const sources = dirname(entry);
  // The main module comes first.
  const own = [entry, ...scripts(sources, new Set()).filter((file) => file !== entry)].map((file): [string, string] => [file, relative(sources, file)]);
  const modules = [...own, ...files];
  for (const [from, to] of modules) {
    mkdirSync(dirname(join(out, to)), { recursive: true });
    writeFileSync(join(out, to), rewrite(readFileSync(from, 'utf8')));
  }
  const list = modules.map(([, to]) => `(name = "${to}", esModule = embed "${to}")`).join(',\n    ');
  const bound = Object.entries(bindings).map(([name, text]) => `(name = "${name}", text = ${JSON.stringify(text)})`).join(', ');
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker), (name = "loopback", network = (allow = ["local"])) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ ${list} ],
  compatibilityDate = "${compatibilityDate}",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "loopback",
  bindings = [ ${bound} ],
);
`;
  writeFileSync(join(out, 'config.capnp'), config);
  return join(out, 'config.capnp');
}
