// A Nest 12 app in ES modules, with the durable SQLite outbox (node:sqlite: nothing to compile).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { closeOnSignals } from './shutdown.js';

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
console.log(`listening on ${await app.getUrl()}`);
closeOnSignals(app);
