// Nest hello-worlds (Express adapter), written without TypeScript: decorators are applied by hand.
import 'reflect-metadata';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { tap } from 'rxjs';
import { Metered, MeteringModule } from '@pacspace-metering/nestjs';
import { inProcessMeter, sandboxMeter, singleDeltaSandboxMeter, stubMeter } from './meters.mjs';

function buildController(metered) {
  class HelloController {
    hello() {
      return 'hello';
    }
  }
  const descriptor = Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello');
  if (metered) Metered('api_request')(HelloController.prototype, 'hello', descriptor);
  Get('hello')(HelloController.prototype, 'hello', descriptor);
  Controller()(HelloController);
  return HelloController;
}

class TapInterceptor {
  intercept(_context, next) {
    return next.handle().pipe(tap(() => {}));
  }
}
Injectable()(TapInterceptor);

const customerId = (req) => req.headers['x-customer'] ?? 'bench-customer';

export const nestVariants = {
  'nest bare': () => ({ controllers: [buildController(false)] }),
  'nest + interceptor with rxjs tap': () => ({ controllers: [buildController(false)], providers: [{ provide: APP_INTERCEPTOR, useClass: TapInterceptor }] }),
  'nest + @Metered (stub meter: decorator alone)': () => ({ imports: [MeteringModule.forRoot({ meter: stubMeter(), customerId })], controllers: [buildController(true)] }),
  'nest + @Metered (no network)': () => ({ imports: [MeteringModule.forRoot({ meter: inProcessMeter(), customerId })], controllers: [buildController(true)] }),
  'nest + @Metered (to sandbox)': (env) => ({ imports: [MeteringModule.forRoot({ meter: sandboxMeter(env), customerId })], controllers: [buildController(true)] }),
  'nest + @Metered (to sandbox, one delta per request)': (env) => ({ imports: [MeteringModule.forRoot({ meter: singleDeltaSandboxMeter(env), customerId })], controllers: [buildController(true)] }),
};

export async function startNest(variant, env) {
  class AppModule {}
  Module(nestVariants[variant](env))(AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return app.getHttpServer();
}
