import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

/**
 * The route dimension: the pattern of the route that answered, with every `app.route()` and
 * `basePath()` prefix, e.g. `/v1/reports/:id` for `GET /v1/reports/42` — never the raw URL, so it
 * has low cardinality and carries no ids. `undefined` when no route handler answered (a 404, or a
 * middleware such as an auth check that answered itself). Read it after `await next()`: Hono then
 * still points at the handler that answered (`c.req.routeIndex`, the route `c.req.routePath`
 * names); a handler is told from a middleware as Hono tells them, by its arity (`(c)` vs `(c, next)`).
 *
 * @example
 * app.route('/v1/reports', reports); reports.get('/:id', handler);
 * // GET /v1/reports/42 -> routePattern(c) === '/v1/reports/:id'
 */
export function routePattern(c: Context): string | undefined {
  const route = matchedRoutes(c)[c.req.routeIndex];
  if (route === undefined || route.handler.length >= 2) return undefined;
  return route.path;
}
