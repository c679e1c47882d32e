/**
 * `@pacspace-metering/nestjs/terminus`: a `@nestjs/terminus` health indicator for the Meter. A
 * separate entry point, so apps without Terminus (an optional peer dependency) never load it.
 *
 * @example
 * import { MeteringHealthIndicator } from '@pacspace-metering/nestjs/terminus';
 * @publicApi
 */
export { MeteringHealthIndicator } from './metering.health-indicator.js';
export type { MeterHealth, MeterHealthOptions, MeterHealthProblem } from '@pacspace-metering/core';
