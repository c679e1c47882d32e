/**
 * `@pacspace-metering/core/serverless`: Lambda-style handlers that return only after the Meter has
 * delivered what it holds (or a bounded wait ran out, which is reported). A separate entry point,
 * so a long-running server never loads it.
 *
 * @example
 * import { withMeterFlush } from '@pacspace-metering/core/serverless';
 * export const handler = withMeterFlush(meter, async (event) => ({ statusCode: 200, body: 'ok' }));
 */
export { FLUSH_RESERVE_MS, withMeterFlush } from './with-meter-flush.js';
export type { InvocationContextLike, WithMeterFlushOptions } from './with-meter-flush.js';
