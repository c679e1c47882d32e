/**
 * A pino-compatible logger: `logger.warn({ referenceId }, 'message')`. Pino, bunyan-style and console-like loggers fit.
 *
 * @example
 * createMeter({ apiKey, logger: pino() satisfies MeteringLogger });
 */
export interface MeteringLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
