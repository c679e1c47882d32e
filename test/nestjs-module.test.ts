import 'reflect-metadata';
import http from 'node:http';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { MeteringConfigError, createMeter } from '@pacspace-metering/core';
import {
  InjectMeter,
  Metered,
  MeteringModule,
  getMeterToken,
  type Meter,
  type MeteringForRootOptions,
  type MeteringModuleOptions,
  type MeteringOptionsFactory,
} from '@pacspace-metering/nestjs';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { bootError, bootNest as boot } from './support/nest-apps.js';

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${base}${path}`, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

const customerId = (req: { headers: Record<string, string | undefined> }) => req.headers['x-customer'];

@Controller()
class PingController {
  @Get('ping')
  @Metered('ping')
  ping() {
    return 'pong';
  }
}

/** A service that bills through the Meter itself, as a critical path would. */
@Injectable()
class ExportService {
  constructor(@InjectMeter() readonly meter: Meter) {}
  finish(customer: string, jobId: string) {
    return this.meter.emit({ customerId: customer, delta: -10, reason: 'export_completed', requestId: jobId });
  }
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

describe('MeteringModule.forRootAsync', () => {
  it('takes its options from ConfigService (useFactory, imports, inject) and gives services the Meter', async () => {
    @Module({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ pacspace: { apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'from-config' } })] }),
        MeteringModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService): MeteringModuleOptions => ({
            apiKey: config.getOrThrow('pacspace.apiKey'),
            baseUrl: config.getOrThrow('pacspace.baseUrl'),
            scope: config.getOrThrow('pacspace.scope'),
            customerId,
          }),
          isGlobal: true,
        }),
      ],
      controllers: [PingController],
      providers: [ExportService],
    })
    class AppModule {}

    const { app, base } = await boot(AppModule);
    expect(await get(base, '/ping', { 'x-customer': 'acme' })).toEqual({ status: 200, body: 'pong' });
    const exports = app.get(ExportService);
    expect(exports.meter).toBe(app.get(getMeterToken()));
    const receipt = await exports.finish('acme', 'job-42');
    expect(receipt).toMatchObject({ referenceId: 'from-config:export_completed:acme:job-42', deduplicated: false });
    await app.close();
    expect(sandbox.ledger().deltas.map((d) => [d.reason, d.referenceId?.split(':')[0]])).toEqual(
      expect.arrayContaining([
        ['ping', 'from-config'],
        ['export_completed', 'from-config'],
      ]),
    );
  });

  it('takes its options from a class (useClass) or an existing provider (useExisting)', async () => {
    @Injectable()
    class MeteringConfig implements MeteringOptionsFactory {
      constructor(private readonly config: ConfigService) {}
      createMeteringOptions(): MeteringModuleOptions {
        return { apiKey: this.config.getOrThrow('KEY'), baseUrl: this.config.getOrThrow('URL'), scope: 'by-class', customerId };
      }
    }
    const configModule = ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ KEY: sandbox.apiKey, URL: sandbox.url })] });

    @Module({ imports: [configModule, MeteringModule.forRootAsync({ imports: [ConfigModule], useClass: MeteringConfig })], controllers: [PingController] })
    class ByClass {}
    const one = await boot(ByClass);
    expect((await get(one.base, '/ping', { 'x-customer': 'acme' })).status).toBe(200);
    await one.app.close();

    @Module({ imports: [configModule], providers: [MeteringConfig], exports: [MeteringConfig] })
    class SharedConfigModule {}
    @Module({ imports: [MeteringModule.forRootAsync({ imports: [SharedConfigModule], useExisting: MeteringConfig })], controllers: [PingController] })
    class ByExisting {}
    const two = await boot(ByExisting);
    expect((await get(two.base, '/ping', { 'x-customer': 'acme' })).status).toBe(200);
    await two.app.close();

    expect(sandbox.ledger().deltas.map((d) => d.referenceId?.split(':').slice(0, 3).join(':'))).toEqual(['by-class:ping:acme', 'by-class:ping:acme']);
  });

  it('meters controllers of other modules when isGlobal is set', async () => {
    @Module({ controllers: [PingController] })
    class FeatureModule {}
    @Module({ imports: [MeteringModule.forRoot({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'global', customerId, isGlobal: true }), FeatureModule] })
    class AppModule {}
    const { app, base } = await boot(AppModule);
    expect((await get(base, '/ping', { 'x-customer': 'acme' })).status).toBe(200);
    await app.close();
    expect(sandbox.ledger().deltas).toHaveLength(1);
  });
});

describe('where the interceptor finds its module', () => {
  it('without isGlobal, a controller of a module that does not import MeteringModule still finds it', async () => {
    @Module({ controllers: [PingController] })
    class FeatureModule {}
    @Module({ imports: [MeteringModule.forRoot({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'local', customerId }), FeatureModule] })
    class AppModule {}
    const { app, base } = await boot(AppModule);
    expect((await get(base, '/ping', { 'x-customer': 'acme' })).status).toBe(200);
    await app.close();
    expect(sandbox.ledger().deltas).toHaveLength(1);
  });

  it('without any MeteringModule, @Metered aborts the bootstrap with a message saying what to import', async () => {
    @Module({ controllers: [PingController] })
    class AppModule {}
    const err = await bootError(AppModule);
    expect(err.message).toContain('MeteringModule.forRoot()');
  });
});

describe('bad options abort the bootstrap with the name of the field', () => {
  const valid = (): MeteringForRootOptions => ({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, customerId });
  const cases: Array<[string, () => MeteringForRootOptions, string]> = [
    ['a scope with spaces', () => ({ ...valid(), scope: 'has spaces' }), 'scope'],
    ['a zero delta', () => ({ ...valid(), delta: 0 }), 'delta'],
    ['a 600-character reason', () => ({ ...valid(), reason: 'x'.repeat(600) }), 'reason'],
    ['a typo', () => ({ ...valid(), reasn: 'call' }) as MeteringForRootOptions, 'reasn'],
    ['a customerId that is not a function', () => ({ ...valid(), customerId: 'acme' as never }), 'customerId'],
    ['a default reason without customerId', () => ({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, reason: 'call' }), 'customerId'],
    ['a meter together with createMeter options', () => ({ ...valid(), meter: createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url }) }), 'meter'],
    ['a bad request id header', () => ({ ...valid(), requestIdHeader: 'x request id' }), 'requestIdHeader'],
    ['a negative concurrency', () => ({ ...valid(), concurrency: -1 }), 'concurrency'],
    ['a bad baseUrl', () => ({ ...valid(), baseUrl: 'not a url' }), 'baseUrl'],
  ];

  it.each(cases)('forRoot with %s', async (_label, options, field) => {
    @Module({ imports: [MeteringModule.forRoot(options())], controllers: [PingController] })
    class AppModule {}
    const err = await bootError(AppModule);
    expect(err).toBeInstanceOf(MeteringConfigError);
    expect(err).toMatchObject({ option: field });
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });

  it('forRootAsync whose factory returns a bad option', async () => {
    @Module({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ SCOPE: 'bad scope!' })] }),
        MeteringModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: config.get('SCOPE'), customerId }),
        }),
      ],
      controllers: [PingController],
    })
    class AppModule {}
    const err = await bootError(AppModule);
    expect(err).toMatchObject({ name: 'MeteringConfigError', option: 'scope' });
    expect(err.message).toMatch(/^scope: must be 1-64 characters/);
  });

  it('does not change the caller’s options object', async () => {
    const options = Object.freeze({ ...valid(), scope: 'frozen', isGlobal: false });
    @Module({ imports: [MeteringModule.forRoot(options)], controllers: [PingController] })
    class AppModule {}
    const { app } = await boot(AppModule);
    await app.close();
    expect(options).toEqual({ ...valid(), customerId: options.customerId, scope: 'frozen', isGlobal: false });
  });
});

describe('verifyCredentials: true', () => {
  it('aborts the start when PacSpace refuses the API key, and starts when it accepts it', async () => {
    @Module({ imports: [MeteringModule.forRoot({ apiKey: 'pk_test_wrong.secretvalue', baseUrl: sandbox.url, customerId, verifyCredentials: true })], controllers: [PingController] })
    class WrongKeyModule {}
    const err = await bootError(WrongKeyModule);
    expect(err).toMatchObject({ status: 401, code: 'INVALID_API_KEY' });
    expect(err.message).toContain('PACSPACE_API_KEY');
    expect(err.message).not.toContain('secretvalue');

    @Module({ imports: [MeteringModule.forRoot({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, customerId, verifyCredentials: true })], controllers: [PingController] })
    class RightKeyModule {}
    const { app, base } = await boot(RightKeyModule);
    expect((await get(base, '/ping', { 'x-customer': 'acme' })).status).toBe(200);
    await app.close();
  });
});
