// A small reports API. Paid routes bill the caller's account through meterRequests(): one delta per
// successful call, none for 4xx/5xx or aborted calls.
//
//   GET  /health               free, no key
//   GET  /v1/plans             free
//   GET  /v1/reports           free
//   POST /v1/reports           report_generated, 5 units   (400 on a bad body; Idempotency-Key honoured)
//   GET  /v1/reports/:id       report_viewed,    1 unit    (404 for an unknown id)
//   GET  /v1/reports/:id/pdf   pdf_rendered,     3 units   (the renderer is broken: always 500, never billed)
import type { MeterOptions } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import express, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { createBilling, PRICES, type Billing, type BillingShutdownReport } from './billing.js';
import type { ApiKeys, AppConfig } from './config.js';
import { IDEMPOTENCY_KEY, parseNewReport, ReportStore } from './reports.js';

/** The caller, set by `authenticate`. */
export interface Account {
  customerId: string;
}

declare global {
  namespace Express {
    interface Request {
      account?: Account;
    }
  }
}

export interface ExampleApp {
  app: Express;
  billing: Billing;
  reports: ReportStore;
  /** Stops storage billing and closes the Meter (call after the HTTP server stopped). */
  close(timeoutMs: number): Promise<BillingShutdownReport>;
}

export interface CreateAppOptions {
  /** Extra Meter hooks (tests). */
  meterHooks?: Pick<MeterOptions, 'onDelivered' | 'onRetry' | 'onDrop' | 'onError'>;
  /** Called with every error answered as a 500. Default: one JSON line on stderr. */
  onServerError?: (err: unknown, req: Request) => void;
}

/** `Authorization: Bearer <key>` or `X-Api-Key: <key>` -> `req.account`; 401 otherwise. */
export function authenticate(apiKeys: ApiKeys): RequestHandler {
  return (req, res, next) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const customerId = apiKeys.get(bearer ?? req.get('x-api-key') ?? '');
    if (customerId === undefined) {
      res.set('WWW-Authenticate', 'Bearer').status(401).json({ error: 'unauthorized', message: 'Send a valid API key in Authorization: Bearer <key>.' });
      return;
    }
    req.account = { customerId };
    next();
  };
}

/**
 * Billing id of a `POST /v1/reports` that carries an Idempotency-Key: a retry of the same create
 * returns the same report, so it must bill under the same referenceId (PacSpace counts it once).
 * Without a key every call is new work: the middleware uses a fresh UUID. Keys are per customer
 * (the customer is part of the referenceId), so one customer's key never touches another's bill.
 */
export function idempotencyRequestId(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  return key !== undefined && IDEMPOTENCY_KEY.test(key) ? `idem.${key}` : undefined;
}

const customerId = (req: Request) => req.account?.customerId;
/** Echo the id each call is billed under (off by default): clients quote it, and the demo reconciles by it. */
const responseHeader = 'x-request-id';

export function createApp(config: AppConfig, options: CreateAppOptions = {}): ExampleApp {
  const reports = new ReportStore();
  const billing = createBilling(config, reports, options.meterHooks);
  const { meter } = billing;
  const onServerError =
    options.onServerError ??
    ((err: unknown, req: Request) => process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'request failed', method: req.method, path: req.path, error: String(err) })}\n`));

  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => void res.json({ status: 'ok' }));

  const v1 = express.Router();
  v1.use(authenticate(config.apiKeys));

  v1.get('/plans', (_req, res) => {
    res.json({ data: Object.entries(PRICES).map(([operation, units]) => ({ operation, units })) });
  });

  v1.get('/reports', (req, res) => {
    res.json({ data: reports.list(req.account!.customerId) });
  });

  v1.post(
    '/reports',
    meterRequests(meter, {
      customerId,
      responseHeader,
      reason: 'report_generated',
      delta: -PRICES.report_generated,
      requestId: idempotencyRequestId,
      metadata: (_req, res) => ({ reportId: res.locals.reportId ?? null }),
    }),
    express.json({ limit: '16kb' }),
    (req, res) => {
      const key = req.get('idempotency-key');
      if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
        res.status(400).json({ error: 'validation_failed', details: [{ field: 'Idempotency-Key', message: 'must be 1-100 characters of [A-Za-z0-9_.:-]' }] });
        return;
      }
      const parsed = parseNewReport(req.body);
      if ('errors' in parsed) {
        res.status(400).json({ error: 'validation_failed', details: parsed.errors });
        return;
      }
      const outcome = reports.create(req.account!.customerId, parsed.value, key);
      if (outcome.kind === 'conflict') {
        res.status(409).json({ error: 'idempotency_conflict', message: 'This Idempotency-Key was used with a different request.' });
        return;
      }
      res.locals.reportId = outcome.report.id;
      if (outcome.kind === 'replayed') res.set('Idempotent-Replayed', 'true');
      res.status(outcome.kind === 'created' ? 201 : 200).json(outcome.report);
    },
  );

  v1.get('/reports/:id', meterRequests(meter, { customerId, responseHeader, reason: 'report_viewed', delta: -PRICES.report_viewed }), (req, res) => {
    const report = reports.get(req.account!.customerId, req.params.id as string);
    if (!report) return void res.status(404).json({ error: 'not_found' });
    res.json(report);
  });

  v1.get('/reports/:id/pdf', meterRequests(meter, { customerId, responseHeader, reason: 'pdf_rendered', delta: -PRICES.pdf_rendered }), async (req, res) => {
    const report = reports.get(req.account!.customerId, req.params.id as string);
    if (!report) return void res.status(404).json({ error: 'not_found' });
    res.type('application/pdf').send(await renderPdf(report.id));
  });

  app.use('/v1', v1);
  app.use((_req: Request, res: Response) => void res.status(404).json({ error: 'not_found' }));
  const errorHandler: ErrorRequestHandler = (err: { status?: number; type?: string }, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    // body-parser errors carry a status: malformed JSON, a body too large, an upload cut short.
    if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) {
      res.status(err.status).json({ error: err.type === 'entity.parse.failed' ? 'invalid_json' : 'bad_request' });
      return;
    }
    onServerError(err, req);
    res.status(500).json({ error: 'internal_error' });
  };
  app.use(errorHandler);

  return {
    app,
    billing,
    reports,
    close: (timeoutMs) => billing.close(timeoutMs),
  };
}

/** Stands in for a PDF renderer that is down: the route always fails, so it never bills. */
async function renderPdf(reportId: string): Promise<Buffer> {
  await new Promise((resolve) => setImmediate(resolve));
  throw new Error(`PDF renderer unavailable (report ${reportId})`);
}
