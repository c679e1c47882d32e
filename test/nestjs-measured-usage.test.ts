// Issue 21, Nest: nothing to bill from a route's resolver, several meters per call from the
// handler's value, @Sse() and StreamableFile routes billed by what was sent (ended or cut by the
// client), the billing request id in handler code, operations outside HTTP over a real TCP
// microservice. Real Nest apps (Express and Fastify adapters) on port 0, the sandbox with faults.
import 'reflect-metadata';
import { request } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { Readable } from 'node:stream';
import { Controller, Get, Module, Post, Sse, StreamableFile, Body, Param, type INestApplication, type MessageEvent, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, MessagePattern, Payload, Transport, type ClientProxy, type INestMicroservice } from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createMeter, createMeterHealth, silentLogger, type Meter } from '@pacspace-metering/core';
import { BillingRequestId, Metered, MeteringModule, MeteringOperations, NOTHING_TO_BILL, SkipMetering } from '@pacspace-metering/nestjs';
import { duplicateReferenceIds, startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { concat, firstValueFrom, from, NEVER, Subject, type Observable } from 'rxjs';
import { bootNest } from './support/nest-apps.js';
import { trackUnhandledRejections, waitFor } from './support/wait.js';

interface Completion {
  cached: boolean;
  usage: { inputTokens: number; outputTokens: number };
}

const FAULTS = { serverError: { rate: 0.15, statuses: [503] }, resetBeforeProcessing: { rate: 0.05 }, commitThenDrop: { rate: 0.1 } };
const customerOf = (req: { headers: Record<string, string | string[] | undefined> }) => (req.headers['x-customer'] as string | undefined) ?? 'acme';

/** Opens `url`, reads until `enough(text)` says so, then destroys the socket; resolves with what was read once closed. */
function readThenAbort(url: string, enough: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const req = request(url, { agent: false, headers: { 'x-customer': 'acme' } }, (res) => {
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (enough(text)) req.destroy();
      });
      res.once('error', () => undefined);
    });
    req.once('error', () => undefined);
    req.once('close', () => resolve(text));
    req.end();
  });
}

const eventsIn = (text: string) => text.split('\n').filter((line) => line.startsWith('data:')).length;

describe('issue 21 on Nest: billing what the work measured', () => {
  let sandbox: Sandbox;
  let app: INestApplication | INestMicroservice | undefined;
  let meter: Meter | undefined;
  const unhandled = trackUnhandledRejections();

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 2122 });
  });
  afterEach(async () => {
    await app?.close();
    await meter?.close({ timeoutMs: 10_000 });
    app = undefined;
    meter = undefined;
    sandbox.setFaults({});
    sandbox.reset();
  });
  afterAll(async () => {
    await sandbox.close();
    expect(unhandled.count()).toBe(0);
    unhandled.stop();
  });

  function newMeter(scope: string): Meter {
    meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope, retryBaseDelayMs: 5, retryMaxDelayMs: 100, concurrency: 8, logger: silentLogger });
    return meter;
  }

  function moduleWith(m: Meter, controllers: Type<unknown>[], providers: Type<unknown>[] = []): Type<unknown> {
    @Module({ imports: [MeteringModule.forRoot({ meter: m, customerId: customerOf, responseHeader: 'x-request-id' })], controllers, providers })
    class AppModule {}
    return AppModule;
  }

  async function boot(module: Type<unknown>, adapter: 'Express' | 'Fastify'): Promise<string> {
    const booted = await bootNest(module, adapter === 'Express' ? new ExpressAdapter() : new FastifyAdapter());
    app = booted.app;
    return booted.base;
  }

  describe.each(['Express', 'Fastify'] as const)('%s adapter', (adapter) => {
    it('does not bill zero usage (0 or NOTHING_TO_BILL from a resolver): counted apart from drops, health stays up', async () => {
      const m = newMeter('zero');
      sandbox.setFaults(FAULTS);
      @Controller('v1')
      class CompletionsController {
        @Post('cached')
        @Metered<Completion>({ reason: 'output_tokens', delta: (_req, result) => (result.cached ? NOTHING_TO_BILL : -result.usage.outputTokens) })
        cached(): Completion {
          return { cached: true, usage: { inputTokens: 0, outputTokens: 0 } };
        }

        @Post('zero')
        @Metered<Completion>({ reason: 'output_tokens', delta: (_req, result) => -result.usage.outputTokens })
        zero(): Completion {
          return { cached: false, usage: { inputTokens: 0, outputTokens: 0 } };
        }

        @Post('paid')
        @Metered<Completion>({ reason: 'output_tokens', delta: (_req, result) => -result.usage.outputTokens })
        paid(): Completion {
          return { cached: false, usage: { inputTokens: 1, outputTokens: 9 } };
        }
      }
      const base = await boot(moduleWith(m, [CompletionsController]), adapter);
      for (const path of ['cached', 'zero', 'cached', 'paid']) expect((await fetch(`${base}/v1/${path}`, { method: 'POST' })).status).toBe(201);
      await waitFor(() => m.stats().accepted === 1 && Object.values(m.stats().skipped ?? {}).reduce((a, b) => a + (b ?? 0), 0) === 3, 'one delta accepted, three skipped');
      await m.flush({ timeoutMs: 30_000 });
      expect(m.stats()).toMatchObject({ accepted: 1, dropped: {}, skipped: { nothing_to_bill: 2, zero_delta: 1 } });
      expect(createMeterHealth(m).check()).toMatchObject({ healthy: true, ready: true });
      expect(sandbox.ledger().deltas.map((d) => [d.reason, d.delta])).toEqual([['output_tokens', -9]]);
    });

    it('bills two meters per call from the handler value under faults: each referenceId once, per-reason totals exact', async () => {
      const m = newMeter('llm');
      sandbox.setFaults(FAULTS);
      @Controller('v1')
      class CompletionsController {
        @Post('completions')
        @Metered<Completion>([
          { reason: 'input_tokens', delta: (_req, result) => -result.usage.inputTokens },
          { reason: 'output_tokens', delta: (_req, result) => -result.usage.outputTokens, metadata: { model: 'small' } },
        ])
        complete(@Body() body: { input: number; output: number }): Completion {
          return { cached: false, usage: { inputTokens: body.input, outputTokens: body.output } };
        }
      }
      const base = await boot(moduleWith(m, [CompletionsController]), adapter);
      const calls = 300;
      const expected: Record<string, number> = {};
      const queue = Array.from({ length: calls }, (_, i) => i);
      await Promise.all(Array.from({ length: 12 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const customer = `cust-${i % 5}`;
          const input = 1 + (i % 17);
          const output = 3 + (i % 29);
          expected[`${customer}/input_tokens`] = (expected[`${customer}/input_tokens`] ?? 0) - input;
          expected[`${customer}/output_tokens`] = (expected[`${customer}/output_tokens`] ?? 0) - output;
          const res = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-customer': customer }, body: JSON.stringify({ input, output }) });
          expect(res.status).toBe(201);
          await res.arrayBuffer();
        }
      }));
      await waitFor(() => m.stats().accepted === 2 * calls, 'two deltas accepted per call');
      expect(await m.flush({ timeoutMs: 120_000 })).toMatchObject({ failed: 0, dropped: 0, pending: 0, timedOut: false });
      const ledger = sandbox.ledger();
      expect(duplicateReferenceIds(ledger)).toEqual([]);
      expect(ledger.deltas).toHaveLength(2 * calls);
      const billed: Record<string, number> = {};
      for (const d of ledger.deltas) billed[`${d.customerId}/${d.reason}`] = (billed[`${d.customerId}/${d.reason}`] ?? 0) + d.delta;
      expect(billed).toEqual(expected);
      expect(ledger.deltas.filter((d) => d.reason === 'output_tokens').every((d) => d.metadata?.model === 'small')).toBe(true);
    });

    describe.each([
      ['without faults', {}],
      ['under API faults', { serverError: { rate: 0.3, statuses: [503] }, commitThenDrop: { rate: 0.2 } }],
    ])('an @Sse() route %s', (_name, faults) => {
      it('bills exactly N units once for a stream aborted after N events, the total once for one that ends, nothing for one that fails first', async () => {
        const m = newMeter('sse');
        sandbox.setFaults(faults);
        const tokens = (i: number) => ({ data: { tokens: 1 + (i % 3) } });
        @Controller('v1')
        class StreamController {
          @Sse('stream/:events')
          @Metered([{ reason: 'output_tokens', units: (event: MessageEvent) => (event.data as { tokens: number }).tokens }, { reason: 'events' }])
          stream(@Param('events') events: string): Observable<MessageEvent> {
            const sent = from(Array.from({ length: Math.min(Number(events), 7) }, (_, i) => tokens(i)));
            // More than 7 asked: 7 events, then the stream stays open until the client goes.
            return Number(events) > 7 ? concat(sent, NEVER) : sent;
          }

          @Sse('broken')
          @Metered('output_tokens')
          broken(): Observable<MessageEvent> {
            throw new Error('model unavailable');
          }
        }
        const base = await boot(moduleWith(m, [StreamController]), adapter);
        expect(eventsIn(await readThenAbort(`${base}/v1/stream/100`, (text) => eventsIn(text) >= 7))).toBe(7);
        const ended = await fetch(`${base}/v1/stream/5`, { headers: { 'x-customer': 'globex' } });
        expect(eventsIn(await ended.text())).toBe(5);
        expect((await fetch(`${base}/v1/broken`)).status).toBe(500);
        await waitFor(() => m.stats().accepted === 4, 'four stream deltas accepted');
        await m.flush({ timeoutMs: 60_000 });
        const ledger = sandbox.ledger();
        expect(duplicateReferenceIds(ledger)).toEqual([]);
        // 7 events of 1+2+3+1+2+3+1 = 13 tokens; 5 events of 1+2+3+1+2 = 9.
        const rows = ledger.deltas.map((d) => [d.customerId, d.reason, d.delta, d.metadata?.stream]).sort();
        expect(rows).toEqual([
          ['acme', 'events', -7, 'aborted'],
          ['acme', 'output_tokens', -13, 'aborted'],
          ['globex', 'events', -5, 'ended'],
          ['globex', 'output_tokens', -9, 'ended'],
        ]);
        expect(m.stats().dropped).toEqual({});
      });
    });

    it('bills a StreamableFile by the bytes sent: the whole file once, an aborted download what was sent', async () => {
      const m = newMeter('file');
      const chunks = new Map<string, Subject<Buffer | null>>();
      @Controller('v1')
      class FilesController {
        @Get('file/:id')
        @Metered({ reason: 'bytes_sent', units: (chunk: Buffer) => chunk.length })
        file(@Param('id') id: string): StreamableFile {
          const source = new Readable({ read() {} });
          const feed = new Subject<Buffer | null>();
          feed.subscribe((chunk) => source.push(chunk));
          chunks.set(id, feed);
          return new StreamableFile(source, { type: 'application/octet-stream' });
        }
      }
      const base = await boot(moduleWith(m, [FilesController]), adapter);
      const whole = fetch(`${base}/v1/file/whole`).then((res) => res.arrayBuffer());
      await waitFor(() => chunks.has('whole'), 'the whole download started');
      chunks.get('whole')!.next(Buffer.alloc(1000, 1));
      chunks.get('whole')!.next(Buffer.alloc(24, 2));
      chunks.get('whole')!.next(null);
      expect((await whole).byteLength).toBe(1024);
      const cut = readThenAbort(`${base}/v1/file/cut`, (body) => body.length >= 300);
      await waitFor(() => chunks.has('cut'), 'the cut download started');
      chunks.get('cut')!.next(Buffer.alloc(300, 3));
      expect((await cut).length).toBe(300);
      await waitFor(() => m.stats().accepted === 2, 'two file deltas accepted');
      chunks.get('cut')!.next(Buffer.alloc(500, 4)); // after the client left: never billed
      await m.flush({ timeoutMs: 30_000 });
      expect(sandbox.ledger().deltas.map((d) => [d.delta, d.metadata?.stream]).sort()).toEqual([[-1024, 'ended'], [-300, 'aborted']]);
    });

    it('gives handler code the id the call is billed under, on @SkipMetering() routes too', async () => {
      const m = newMeter('ids');
      const seen: Record<string, string> = {};
      @Controller('v1')
      class IdsController {
        @Get('auto')
        @Metered('api_request')
        auto(@BillingRequestId() requestId: string) {
          seen.auto = requestId;
          return {};
        }

        @Get('manual')
        @SkipMetering()
        manual(@BillingRequestId() requestId: string, @BillingRequestId() again: string) {
          seen.manual = requestId;
          // Billing by hand, deterministically: twice under one id is one delta.
          for (const id of [requestId, again]) meter!.enqueue({ customerId: 'acme', delta: -3, reason: 'manual_export', requestId: id });
          return {};
        }
      }
      const base = await boot(moduleWith(m, [IdsController]), adapter);
      const auto = await fetch(`${base}/v1/auto`);
      await auto.arrayBuffer();
      const manual = await fetch(`${base}/v1/manual`);
      await manual.arrayBuffer();
      await waitFor(() => m.stats().accepted === 3, 'three deltas accepted');
      await m.flush({ timeoutMs: 10_000 });
      expect(auto.headers.get('x-request-id')).toBe(seen.auto);
      expect(manual.headers.get('x-request-id')).toBe(seen.manual);
      expect(sandbox.ledger().deltas.map((d) => d.referenceId).sort()).toEqual([`ids:api_request:acme:${seen.auto}`, `ids:manual_export:acme:${seen.manual}`]);
    });
  });

  describe('a TCP microservice', () => {
    let client: ClientProxy | undefined;
    afterEach(async () => {
      await client?.close();
      client = undefined;
    });

    it('bills a message handler once per operation id however often the message comes, and nothing for one that fails', async () => {
      const m = newMeter('jobs');
      sandbox.setFaults(FAULTS);
      const runs: string[] = [];
      @Controller()
      class RenderController {
        constructor(private readonly operations: MeteringOperations) {}

        @MessagePattern('render')
        async render(@Payload() job: { id: string; accountId: string; pages: number; fail?: boolean }) {
          const { result } = await this.operations.run(
            { operationId: job.id, customerId: job.accountId, reason: 'pages_rendered', delta: (r: { pages: number }) => -r.pages },
            async () => {
              runs.push(job.id);
              if (job.fail) throw new Error('renderer crashed');
              return { pages: job.pages };
            },
          );
          return result;
        }
      }
      const micro = await NestFactory.createMicroservice(moduleWith(m, [RenderController]), { transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 }, logger: false });
      app = micro;
      await micro.listen();
      const { port } = micro.unwrap<Server>().address() as AddressInfo;
      client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
      for (let i = 0; i < 5; i++) expect(await firstValueFrom(client.send('render', { id: 'job-7', accountId: 'acme', pages: 4 }))).toEqual({ pages: 4 });
      await expect(firstValueFrom(client.send('render', { id: 'job-8', accountId: 'acme', pages: 2, fail: true }))).rejects.toBeDefined();
      expect(runs).toEqual(['job-7', 'job-7', 'job-7', 'job-7', 'job-7', 'job-8']);
      await m.flush({ timeoutMs: 30_000 });
      const ledger = sandbox.ledger();
      expect(ledger.deltas.map((d) => [d.referenceId, d.delta])).toEqual([['jobs:pages_rendered:acme:job-7', -4]]);
      expect(m.stats()).toMatchObject({ dropped: {}, skipped: { already_billed: 4 } });
    });

    it('bills a @Metered message handler once per message id (the requestId option), and hands the handler that id', async () => {
      const m = newMeter('messages');
      sandbox.setFaults(FAULTS);
      const ids: string[] = [];
      @Controller()
      class PagesController {
        @MessagePattern('pages')
        @Metered<{ pages: number }>({ reason: 'pages_rendered', delta: (_payload, result) => -result.pages })
        pages(@Payload() message: { messageId: string; pages: number }, @BillingRequestId() requestId: string) {
          ids.push(requestId);
          return { pages: message.pages };
        }
      }
      @Module({ imports: [MeteringModule.forRoot({ meter: m, customerId: () => 'acme', requestId: (payload: { messageId: string }) => payload.messageId })], controllers: [PagesController] })
      class MessagesModule {}
      const micro = await NestFactory.createMicroservice(MessagesModule, { transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 }, logger: false });
      app = micro;
      await micro.listen();
      const { port } = micro.unwrap<Server>().address() as AddressInfo;
      client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
      // A broker redelivering one message three times, then another message.
      for (const messageId of ['msg-1', 'msg-1', 'msg-1', 'msg-2']) await firstValueFrom(client.send('pages', { messageId, pages: 3 }));
      expect(ids).toEqual(['msg-1', 'msg-1', 'msg-1', 'msg-2']);
      await waitFor(() => m.stats().accepted === 4, 'four deltas accepted');
      await m.flush({ timeoutMs: 30_000 });
      const ledger = sandbox.ledger();
      expect(duplicateReferenceIds(ledger)).toEqual([]);
      expect(ledger.deltas.map((d) => [d.referenceId, d.delta]).sort()).toEqual([['messages:pages_rendered:acme:msg-1', -3], ['messages:pages_rendered:acme:msg-2', -3]]);
    });
  });
});
