import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { MeteringModule } from '@pacspace-metering/nestjs';
import { AuthGuard } from './auth.guard.js';
import { ReportsController } from './reports.controller.js';

@Module({
  imports: [
    MeteringModule.forRoot({
      apiKey: process.env.PACSPACE_API_KEY,
      scope: 'reports-api',
      customerId: (req) => req.user?.accountId, // set by AuthGuard
      verifyCredentials: true, // a key PacSpace refuses aborts the start
      isGlobal: true,
    }),
  ],
  controllers: [ReportsController],
  providers: [{ provide: APP_GUARD, useClass: AuthGuard }],
})
export class AppModule {}
