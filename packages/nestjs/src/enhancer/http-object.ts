/**
 * What an HTTP request or response looks like here: Express objects, or Fastify's with `.raw`.
 *
 * @example
 * const rawRes = (res as HttpObject).raw ?? res;
 * @publicApi
 */
export type HttpObject = Record<string | symbol, any> & { raw?: any };
