// A Nest 11 app compiled to CommonJS, on Fastify (@nestjs/platform-fastify).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { closeOnSignals } from './shutdown.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  console.log(`listening on ${await app.getUrl()}`);
  closeOnSignals(app);
}
bootstrap().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
