// A Nest 11 app compiled to CommonJS, on Express.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { closeOnSignals } from './shutdown.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  console.log(`listening on ${await app.getUrl()}`);
  closeOnSignals(app);
}
bootstrap().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
