// Real Nest apps for the @pacspace-metering/nestjs tests: one module booted on a loopback port,
// or booted only to see why its bootstrap fails.
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory, type AbstractHttpAdapter } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';

/**
 * Boots `module` on `adapter` (default: a new ExpressAdapter), listening on 127.0.0.1, port 0,
 * without Nest's logger. The caller closes `app`.
 *
 * @example
 * const { app, base } = await bootNest(AppModule, new FastifyAdapter());
 */
export async function bootNest(module: Type<unknown>, adapter: AbstractHttpAdapter = new ExpressAdapter()): Promise<{ app: INestApplication; base: string }> {
  const app = await NestFactory.create(module, adapter, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return { app, base: await app.getUrl() };
}

/**
 * Starts a throwaway Express app of `module` and returns why its bootstrap failed (closing what
 * had started); throws when it did not fail.
 *
 * @example
 * expect((await bootError(BadModule)).message).toMatch(/apiKey/);
 */
export async function bootError(module: Type<unknown>): Promise<Error> {
  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(module, new ExpressAdapter(), { logger: false, abortOnError: false });
    await app.init();
  } catch (err) {
    await app?.close().catch(() => undefined);
    return err as Error;
  }
  await app.close();
  throw new Error('bootstrap succeeded');
}
