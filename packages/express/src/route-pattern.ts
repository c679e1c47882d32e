/**
 * The route dimension: the pattern a request matched, with every router mount path, e.g.
 * `/v1/reports/:id` for `GET /v1/reports/42` — never the raw URL, so it has low cardinality and
 * carries no ids.
 *
 * Express keeps only part of this on the request: `req.route.path` is the route's own pattern and
 * `req.baseUrl` the *matched text* of the mounts (`/t/acme` for a router mounted at `/t/:tenant`).
 * So the mount patterns are recovered from the router tree: the first time a route is seen, the
 * chains of mount layers that lead to it are collected once and cached (a WeakMap per app router
 * and route). After that, a route under static mounts costs two WeakMap look-ups; a route under
 * pattern mounts (or mounted more than once) re-matches its few mount layers against
 * `req.baseUrl` to find which one the request took. (Mount routers before serving traffic: a
 * router mounted at a second place after its routes were first seen is not picked up.)
 *
 * This needs the layer's original path (`layer.rawPath`, router 2.3+ / Express 5.2+). On older
 * routers (Express 4, Express 5.0-5.1) the result is `req.baseUrl + req.route.path`: exact for
 * static mounts, but a pattern mount shows its matched text there.
 */
import type { Request } from 'express';

/** What the router tree offers us; typed loosely because these are Express internals. */
interface LayerLike {
  route?: unknown;
  handle?: { stack?: unknown };
  rawPath?: unknown;
  slash?: boolean;
  match?: (path: string) => unknown;
}

interface RouterLike {
  stack: LayerLike[];
}

/** Mount layers from the app's router down to the route's own layer (the last element). */
type Chain = LayerLike[];

interface RouteInfo {
  chains: Chain[];
  /** False when the router does not keep its patterns (Express 4, router < 2.3). */
  exact: boolean;
  /** The full pattern, when it cannot depend on the request (one chain, static mounts, string path). */
  fixed: string | undefined;
  /** Whether `fixed` has a non-empty mount part, to notice a stale `req.route`. */
  fixedMounted: boolean;
}

interface AppLike {
  _router?: RouterLike;
  router?: RouterLike;
  parent?: AppLike;
  mountpath?: unknown;
}

const infoByRouter = new WeakMap<object, WeakMap<object, RouteInfo>>();
/** Characters with a meaning in path-to-regexp patterns (v0.1 to v8). */
const PATTERN_CHARS = /[:*?+(){}[\]!\\]/;

/**
 * Returns the route pattern the request matched, mount paths included (`/v1/reports/:id`), or
 * `undefined` when no route matched (a 404, a plain middleware that answered). Read it once the
 * response has finished (or inside the handler), while Express still holds the routing state.
 *
 * @example
 * app.use('/v1', v1); v1.use('/reports', reports); reports.get('/:id', handler);
 * // GET /v1/reports/42 -> routePattern(req) === '/v1/reports/:id'
 */
export function routePattern(req: Request): string | undefined {
  const route = req.route as { path?: unknown } | undefined;
  if (route === undefined || route === null || typeof route !== 'object') return undefined;
  const baseUrl = typeof req.baseUrl === 'string' ? req.baseUrl : '';
  const app = req.app as unknown as AppLike | undefined;
  const info = app ? routeInfo(app, route) : undefined;
  if (info === undefined || !info.exact) return join(baseUrl, pathText(route.path));

  if (info.fixed !== undefined && app!.parent === undefined) {
    // A route answered under its mounts has a non-empty baseUrl, and a top-level one an empty
    // baseUrl. Otherwise req.route is left over from a route that called next() and something
    // else (not a route) answered.
    return (baseUrl.length !== 0) === info.fixedMounted ? info.fixed : undefined;
  }
  return matchChains(req, info, app!, baseUrl, route);
}

function routeInfo(app: AppLike, route: object): RouteInfo | undefined {
  const router = appRouter(app);
  if (router === undefined) return undefined;
  let byRoute = infoByRouter.get(router);
  if (byRoute === undefined) infoByRouter.set(router, (byRoute = new WeakMap()));
  let info = byRoute.get(route);
  if (info === undefined) byRoute.set(route, (info = describeRoute(router, route)));
  return info;
}

function appRouter(app: AppLike): RouterLike | undefined {
  // Express 4 keeps it in `_router` (its `router` getter throws); Express 5 in `router`.
  let router: unknown = app._router;
  if (router === undefined) {
    try {
      router = app.router;
    } catch {
      return undefined;
    }
  }
  if ((typeof router !== 'object' && typeof router !== 'function') || router === null) return undefined;
  return Array.isArray((router as RouterLike).stack) ? (router as RouterLike) : undefined;
}

/** Collects every chain of mount layers leading to `route`, once per route. */
function describeRoute(router: RouterLike, route: object): RouteInfo {
  const chains: Chain[] = [];
  collect(router, route, [], chains, new Set());
  const exact = chains.length > 0 && chains.every((chain) => chain.every((layer) => 'rawPath' in layer));
  let fixed: string | undefined;
  let fixedMounted = false;
  const path = (route as { path?: unknown }).path;
  if (exact && chains.length === 1 && typeof path === 'string') {
    const mounts = chains[0]!.slice(0, -1);
    if (mounts.every((layer) => typeof layer.rawPath === 'string' && !PATTERN_CHARS.test(layer.rawPath))) {
      const prefix = mounts.map((layer) => mountText(layer.rawPath)).join('');
      fixed = join(prefix, path);
      fixedMounted = prefix.length !== 0;
    }
  }
  return { chains, exact, fixed, fixedMounted };
}

function collect(router: RouterLike, route: object, prefix: LayerLike[], out: Chain[], visiting: Set<object>): void {
  visiting.add(router);
  for (const layer of router.stack) {
    if (layer === null || typeof layer !== 'object') continue;
    if (layer.route === route) {
      out.push([...prefix, layer]);
    } else if (layer.route === undefined && layer.handle && Array.isArray(layer.handle.stack) && !visiting.has(layer.handle)) {
      collect(layer.handle as unknown as RouterLike, route, [...prefix, layer], out, visiting);
    }
  }
  visiting.delete(router);
}

/** Finds which chain the request took by matching the mount layers against `req.baseUrl`. */
function matchChains(req: Request, info: RouteInfo, app: AppLike, baseUrl: string, route: { path?: unknown }): string | undefined {
  const appPrefix = app.parent === undefined ? undefined : appMountPattern(app);
  for (const chain of info.chains) {
    if (appPrefix === undefined) {
      const local = matchMounts(chain, baseUrl);
      if (local !== undefined) return join(local, routeText(chain, req, route));
      continue;
    }
    // A sub-app: baseUrl starts with what its own mount path matched; try each split.
    for (let i = 0; i <= baseUrl.length; i++) {
      if (i !== baseUrl.length && baseUrl.charCodeAt(i) !== 47 /* '/' */) continue;
      const local = matchMounts(chain, baseUrl.slice(i));
      if (local !== undefined) return join(appPrefix + local, routeText(chain, req, route));
    }
  }
  // No chain fits baseUrl: req.route is left over from a route that called next().
  return undefined;
}

/** Matches the chain's mount layers against `baseUrl`; returns their joined patterns, or undefined. */
function matchMounts(chain: Chain, baseUrl: string): string | undefined {
  let rest = baseUrl;
  let pattern = '';
  for (let i = 0; i < chain.length - 1; i++) {
    const layer = chain[i]!;
    if (layer.slash) continue;
    let match: unknown;
    try {
      match = layer.match?.(rest === '' ? '/' : rest);
    } catch {
      return undefined;
    }
    if (!match || typeof match !== 'object') return undefined;
    const { path, pattern: matched } = match as { path?: unknown; pattern?: unknown };
    if (typeof path !== 'string') return undefined;
    rest = rest.slice(path.length);
    pattern += mountText(matched ?? layer.rawPath);
  }
  return rest === '' || rest === '/' ? pattern : undefined;
}

/** The route's own pattern; for an array of paths, the one this request matched. */
function routeText(chain: Chain, req: Request, route: { path?: unknown }): string {
  if (typeof route.path === 'string') return route.path;
  const layer = chain[chain.length - 1]!;
  try {
    const url = typeof req.url === 'string' ? req.url : '/';
    const query = url.indexOf('?');
    const match = layer.match?.(query === -1 ? url : url.slice(0, query)) as { pattern?: unknown } | false | undefined;
    if (match && match.pattern !== undefined) return pathText(match.pattern);
  } catch {
    // fall through to the listing of every path
  }
  return pathText(route.path);
}

function appMountPattern(app: AppLike): string {
  let prefix = '';
  for (let a: AppLike | undefined = app; a?.parent !== undefined; a = a.parent) prefix = mountText(a.mountpath) + prefix;
  return prefix;
}

/** A mount path as it appears in a pattern: no trailing slash, `/` as the empty string. */
function mountText(path: unknown): string {
  return stripSlash(pathText(path));
}

function stripSlash(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 47) end--;
  return end === text.length ? text : text.slice(0, end);
}

function pathText(path: unknown): string {
  if (typeof path === 'string') return path;
  if (Array.isArray(path)) return path.map(pathText).join(',');
  return String(path);
}

/** Joins a mount prefix and a route path: `/v1` + `/` is `/v1`, `` + `` is `/`. */
function join(prefix: string, path: string): string {
  if (prefix === '') return path === '' ? '/' : path;
  return path === '/' || path === '' ? prefix : prefix + path;
}
