import type { ExecutionContext } from '@nestjs/common';
import { thenableError } from '@pacspace-metering/core';
import type { RouteMetering } from '../metering/metering.route.js';
import type { HttpObject } from '../enhancer/http-object.js';

/**
 * @internal The route pattern (`/reports/:id`), never the raw URL: Express `req.route.path`,
 * Fastify `request.routeOptions.url`; `undefined` when the framework gives none.
 */
export function routePatternOf(req: HttpObject): string | undefined {
  const pattern: unknown = req.route?.path ?? req.routeOptions?.url;
  return typeof pattern === 'string' ? pattern : undefined;
}

/** @internal What every HTTP delta's metadata starts with: `route` (when known) and `method`. */
export function httpMetadataOf(route: string | undefined, req: HttpObject): Record<string, unknown> {
  return route === undefined ? { method: req.method } : { route, method: req.method };
}

/**
 * @internal A delta's metadata: `base`, then the module's `metadata`, then the route's. Throws when
 * a function throws, returns a Promise, or returns something other than a plain object (the caller
 * refuses the delta naming `metadata`).
 */
export function mergeMetadata(route: RouteMetering, context: ExecutionContext, req: unknown, result: unknown, base: Record<string, unknown>): Record<string, unknown> {
  if (route.moduleMetadata === undefined && route.routeMetadata === undefined) return base;
  const fromModule = typeof route.moduleMetadata === 'function' ? route.moduleMetadata(req, context) : route.moduleMetadata;
  const fromRoute = typeof route.routeMetadata === 'function' ? route.routeMetadata(req, result, context) : route.routeMetadata;
  const asynchronous = thenableError(fromModule, 'metadata') ?? thenableError(fromRoute, 'metadata');
  if (asynchronous !== undefined) throw asynchronous;
  if (!isPlainOrAbsent(fromModule) || !isPlainOrAbsent(fromRoute)) throw new TypeError('a metadata function returned something other than a plain object');
  return { ...base, ...fromModule, ...fromRoute };
}

function isPlainOrAbsent(value: unknown): boolean {
  if (value === undefined) return true;
  const proto = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  return proto === Object.prototype || proto === null;
}
