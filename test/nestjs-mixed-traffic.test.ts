import 'reflect-metadata';
import http from 'node:http';
import { Readable } from 'node:stream';
import {
  BadGatewayException,
  Body,
  Catch,
  Controller,
  Get,
  Injectable,
  Module,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
  Query,
  Res,
  StreamableFile,
  UnauthorizedException,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { buildReferenceId, type Meter } from '@pacspace-metering/core';
import { METER, Metered, MeteringModule } from '@pacspace-metering/nestjs';
import { duplicateReferenceIds, startSandbox, sumByCustomer, type Sandbox } from '@pacspace-metering/sandbox';
import { map, type Observable } from 'rxjs';

// One app per adapter, real sockets on 127.0.0.1, a sandbox injecting 5xx, 429, resets and
// commit-then-drop. Every kind of request below either succeeds (and must be billed exactly once,
// under the request id echoed to the client) or fails/aborts (and must not be billed at all).

class QuotaExceeded extends Error {}
class SoftMiss extends Error {}

/** Turns a domain error into a 429: the handler threw, the client sees a 4xx, nothing is billed. */
@Catch(QuotaExceeded)
class QuotaFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}
  catch(_error: QuotaExceeded, host: ArgumentsHost) {
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), { error: 'quota' }, 429);
  }
}

/** Turns an error into a 200 fallback answer: the client got a success, so it is billed (status at finish decides). */
@Catch(SoftMiss)
class FallbackFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}
  catch(_error: SoftMiss, host: ArgumentsHost) {
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), { fallback: true }, 200);
  }
}

/** No `x-customer` -> 401; `blocked` -> false (403). Sets `req.customer` for the customerId resolver. */
@Injectable()
class CustomerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest();
    const customer = req.headers['x-customer'];
    if (!customer) throw new UnauthorizedException();
    if (customer === 'blocked') return false;
    req.customer = customer;
    return true;
  }
}

/** Throws after the handler succeeded, while the response is still unwritten. */
@Injectable()
class ExplodeAfterInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map(() => {
        throw new BadGatewayException('upstream failed after the handler');
      }),
    );
  }
}

/** Lets the test wait until a handler is running, and until its client is gone. */
const probes = new Map<string, { entered: () => void; closed: () => void }>();

@Controller('api')
@UseGuards(CustomerGuard)
class ApiController {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  @Get('items/:id')
  @Metered('item_read')
  read(@Param('id') id: string) {
    if (id === 'missing') throw new NotFoundException();
    return { id };
  }

  @Get('items')
  @Metered('item_list')
  list(@Query('limit', ParseIntPipe) limit: number) {
    return { limit };
  }

  @Post('items')
  @Metered({ reason: 'item_created', delta: -3 })
  create(@Body() body: { name?: string }) {
    return { created: body?.name ?? null };
  }

  @Post('reports')
  @Metered({ reason: 'report_generated', delta: (_req, result: { pages: number }) => -result.pages, metadata: (_req, result: { pages: number }) => ({ pages: result.pages }) })
  async report(@Query('pages', ParseIntPipe) pages: number) {
    await new Promise((resolve) => setImmediate(resolve));
    return { pages };
  }

  @Get('boom')
  @Metered('boom')
  boom() {
    throw new Error('boom');
  }

  @Get('quota')
  @Metered('quota')
  @UseFilters(QuotaFilter)
  quota() {
    throw new QuotaExceeded();
  }

  @Get('fallback')
  @Metered('fallback')
  @UseFilters(FallbackFilter)
  fallback() {
    throw new SoftMiss();
  }

  @Get('after')
  @Metered('after')
  @UseInterceptors(ExplodeAfterInterceptor)
  after() {
    return { ok: true };
  }

  @Get('raw')
  @Metered('raw_ok')
  raw(@Res() res: unknown) {
    this.adapterHost.httpAdapter.reply(res, { raw: true }, 200);
  }

  @Get('raw-fail')
  @Metered('raw_fail')
  rawFail(@Res() res: unknown) {
    this.adapterHost.httpAdapter.reply(res, { raw: false }, 503);
  }

  @Get('file')
  @Metered('file_download')
  file() {
    return new StreamableFile(Buffer.from('metered file body'));
  }

  /** A download whose stream fails halfway: the response is cut off, so it is an abort, not a sale. */
  @Get('file-broken')
  @Metered('file_broken')
  brokenFile() {
    let sent = false;
    const body = new Readable({
      read() {
        if (!sent) {
          sent = true;
          this.push(Buffer.alloc(64 * 1024, 1));
        } else this.destroy(new Error('disk gone'));
      },
    });
    return new StreamableFile(body);
  }

  @Get('free')
  free() {
    return { free: true };
  }

  @Get('slow')
  @Metered('slow')
  async slow(@Query('probe') name: string, @Res({ passthrough: true }) res: { raw?: http.ServerResponse } & http.ServerResponse) {
    const rawRes = res.raw ?? res;
    const probe = probes.get(name)!;
    const gone = new Promise((resolve) => rawRes.once('close', resolve));
    probe.entered();
    await gone;
    probe.closed();
    return { tooLate: true };
  }
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      { method, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A request whose response is cut off by the server; resolves with how it ended for the client. */
function brokenCall(base: string, customer: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get(`${base}/api/file-broken`, { headers: { 'x-customer': customer }, agent: false }, (res) => {
      res.on('data', () => undefined);
      res.on('error', () => resolve('cut off'));
      res.on('end', () => resolve(res.complete ? 'complete' : 'cut off'));
      res.on('close', () => resolve('cut off'));
    });
    req.on('error', () => resolve('cut off'));
  });
}

/** A client that goes away while the handler is still working; resolves once the server saw it go. */
async function abortedCall(base: string, customer: string, name: string): Promise<void> {
  let entered!: () => void;
  let closed!: () => void;
  const enteredP = new Promise<void>((resolve) => (entered = resolve));
  const closedP = new Promise<void>((resolve) => (closed = resolve));
  probes.set(name, { entered, closed });
  const req = http.request(`${base}/api/slow?probe=${name}`, { headers: { 'x-customer': customer }, agent: false });
  req.on('error', () => undefined);
  req.end();
  await enteredP;
  req.destroy();
  await closedP;
  probes.delete(name);
}

interface Spec {
  kind: string;
  method: 'GET' | 'POST';
  path: string;
  customer: string | undefined;
  body?: string;
  /** The reason it is billed under when it succeeds; undefined for unmetered routes. */
  reason?: string;
  /** The status the app must answer. */
  status: number;
  delta?: number;
}

const CUSTOMERS = ['acme', 'globex', 'initech', 'umbrella'];

function traffic(count: number): Spec[] {
  const specs: Spec[] = [];
  for (let i = 0; i < count; i++) {
    const customer = CUSTOMERS[i % CUSTOMERS.length]!;
    const pages = (i % 5) + 1;
    const kinds: Spec[] = [
      { kind: 'read', method: 'GET', path: `/api/items/${i}`, customer, reason: 'item_read', status: 200, delta: -1 },
      { kind: 'list', method: 'GET', path: '/api/items?limit=10', customer, reason: 'item_list', status: 200, delta: -1 },
      { kind: 'create', method: 'POST', path: '/api/items', customer, body: JSON.stringify({ name: `n${i}` }), reason: 'item_created', status: 201, delta: -3 },
      { kind: 'report', method: 'POST', path: `/api/reports?pages=${pages}`, customer, reason: 'report_generated', status: 201, delta: -pages },
      { kind: 'file', method: 'GET', path: '/api/file', customer, reason: 'file_download', status: 200, delta: -1 },
      { kind: 'raw', method: 'GET', path: '/api/raw', customer, reason: 'raw_ok', status: 200, delta: -1 },
      { kind: 'fallback', method: 'GET', path: '/api/fallback', customer, reason: 'fallback', status: 200, delta: -1 },
      { kind: 'free', method: 'GET', path: '/api/free', customer, status: 200 },
      { kind: 'not-found', method: 'GET', path: '/api/items/missing', customer, reason: 'item_read', status: 404 },
      { kind: 'pipe-failure', method: 'GET', path: '/api/items?limit=many', customer, reason: 'item_list', status: 400 },
      { kind: 'thrown', method: 'GET', path: '/api/boom', customer, reason: 'boom', status: 500 },
      { kind: 'filter-4xx', method: 'GET', path: '/api/quota', customer, reason: 'quota', status: 429 },
      { kind: 'after-handler', method: 'GET', path: '/api/after', customer, reason: 'after', status: 502 },
      { kind: 'raw-failure', method: 'GET', path: '/api/raw-fail', customer, reason: 'raw_fail', status: 503 },
      { kind: 'no-customer', method: 'GET', path: `/api/items/${i}`, customer: undefined, reason: 'item_read', status: 401 },
      { kind: 'guard-false', method: 'GET', path: `/api/items/${i}`, customer: 'blocked', reason: 'item_read', status: 403 },
    ];
    specs.push(kinds[i % kinds.length]!);
  }
  return specs;
}

const adapters = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(adapters)('@Metered under mixed traffic and delivery faults (%s adapter)', (name, createAdapter) => {
  const scope = `mixed-${name.toLowerCase()}`;
  let sandbox: Sandbox;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    sandbox = await startSandbox({
      seed: 7,
      faults: {
        latencyMs: { min: 0, max: 3 },
        serverError: { rate: 0.15 },
        rateLimit: { rate: 0.03, retryAfterSeconds: 1 },
        resetBeforeProcessing: { rate: 0.05 },
        commitThenDrop: { rate: 0.1 },
      },
    });
    @Module({
      imports: [
        MeteringModule.forRoot({
          apiKey: sandbox.apiKey,
          baseUrl: sandbox.url,
          scope,
          concurrency: 4,
          retryBaseDelayMs: 5,
          retryMaxDelayMs: 50,
          maxRetryAfterMs: 20,
          customerId: (req: { customer?: string }) => req.customer,
          responseHeader: 'x-request-id',
        }),
      ],
      controllers: [ApiController],
      providers: [CustomerGuard, QuotaFilter, FallbackFilter, ExplodeAfterInterceptor],
    })
    class AppModule {}
    app = await NestFactory.create(AppModule, createAdapter(), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('bills exactly one delta per successful request, under the echoed request id, and nothing else', async () => {
    const specs = traffic(320);
    const replies: Array<{ spec: Spec; reply: Reply }> = [];
    for (let i = 0; i < specs.length; i += 16) {
      const chunk = specs.slice(i, i + 16);
      const answered = await Promise.all(
        chunk.map((spec) => call(base, spec.method, spec.path, spec.customer === undefined ? {} : { 'x-customer': spec.customer }, spec.body)),
      );
      answered.forEach((reply, j) => replies.push({ spec: chunk[j]!, reply }));
    }
    for (let i = 0; i < 4; i++) await abortedCall(base, CUSTOMERS[i]!, `${name}-abort-${i}`);
    expect(await Promise.all(CUSTOMERS.map((customer) => brokenCall(base, customer)))).toEqual(CUSTOMERS.map(() => 'cut off'));

    // The app answered every kind as intended.
    for (const { spec, reply } of replies) expect({ kind: spec.kind, status: reply.status }).toEqual({ kind: spec.kind, status: spec.status });

    const expected = new Map<string, Spec>();
    const echoed = new Set<string>();
    for (const { spec, reply } of replies) {
      const requestId = reply.headers['x-request-id'];
      if (typeof requestId === 'string') {
        expect(echoed.has(requestId)).toBe(false);
        echoed.add(requestId);
      }
      if (spec.reason === undefined || reply.status >= 400) continue;
      expect(typeof requestId).toBe('string');
      expected.set(buildReferenceId({ scope, operation: spec.reason, customerId: spec.customer!, requestId: requestId as string }), spec);
    }
    expect(expected.size).toBeGreaterThan(100);
    expect(expected.size).toBe(replies.filter(({ spec }) => spec.reason !== undefined && spec.status < 400).length);

    const meter = app.get<Meter>(METER);
    await app.close(); // delivers everything still queued before it resolves

    const ledger = sandbox.ledger();
    expect(duplicateReferenceIds(ledger)).toEqual([]);
    expect(ledger.deltas).toHaveLength(expected.size);
    expect(new Set(ledger.deltas.map((d) => d.referenceId))).toEqual(new Set(expected.keys()));
    for (const delta of ledger.deltas) {
      const spec = expected.get(delta.referenceId!)!;
      expect({ customerId: delta.customerId, reason: delta.reason, delta: delta.delta }).toEqual({ customerId: spec.customer, reason: spec.reason, delta: spec.delta });
    }
    const sums: Record<string, number> = {};
    for (const spec of expected.values()) sums[spec.customer!] = (sums[spec.customer!] ?? 0) + spec.delta!;
    expect(sumByCustomer(ledger)).toEqual(sums);

    // The route pattern, never the raw URL, and the result-derived metadata.
    const read = ledger.deltas.find((d) => d.reason === 'item_read')!;
    expect(read.metadata).toEqual({ route: '/api/items/:id', method: 'GET' });
    const report = ledger.deltas.find((d) => d.reason === 'report_generated')!;
    expect(report.metadata).toEqual({ route: '/api/reports', method: 'POST', pages: -report.delta });

    // Faults really happened, and the meter retried through them without losing or doubling anything.
    expect(ledger.counts.faults).toBeGreaterThan(0);
    const stats = meter.stats();
    expect(stats).toMatchObject({ accepted: expected.size, delivered: expected.size, dropped: {}, queued: 0, inFlight: 0, closed: true });
  });
});
