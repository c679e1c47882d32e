// An LLM-style completions API billed by what it served: input and output tokens are two reasons
// (priced apart in PacSpace), a cache hit costs nothing, and a streamed answer (SSE) is billed for
// the tokens sent, whether it ended or the client went away mid-stream.
//
//   POST /v1/completions { prompt, max_tokens }                -> JSON, billed from the handler's result
//   POST /v1/completions { prompt, max_tokens, stream: true }  -> SSE, one token per event
//
// Callers authenticate with `Authorization: Bearer <key>`; the key names the customer who pays.
import { NOTHING_TO_BILL, type Meter } from '@pacspace-metering/core';
import { billingRequestId, meteredRoute, meterStream } from '@pacspace-metering/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { CompletionCache } from './cache.js';
import { complete, tokenize } from './model.js';

/** What a completion answers (and what its billing reads). */
export interface Completion {
  id: string;
  text: string;
  cached: boolean;
  usage: { inputTokens: number; outputTokens: number };
}

/** Options of {@link createLlmApp}. */
export interface LlmApiOptions {
  meter: Meter;
  /** API key -> customer id. */
  apiKeys: ReadonlyMap<string, string>;
  /** Pause between two streamed tokens, ms (a model's pace). Default 2. */
  tokenDelayMs?: number;
  /** One JSON line per served completion: what was sent to whom (the demo reconciles against it). */
  log?: (fields: Record<string, unknown>) => void;
}

interface CompletionRequest {
  prompt: string;
  maxTokens: number;
  stream: boolean;
}

/** The request body, checked; undefined (and a 400 sent) when it is not usable. */
function parseBody(req: Request, res: Response): CompletionRequest | undefined {
  const body = (req.body ?? {}) as { prompt?: unknown; max_tokens?: unknown; stream?: unknown };
  const maxTokens = body.max_tokens ?? 16;
  if (typeof body.prompt !== 'string' || body.prompt.trim() === '' || body.prompt.length > 10_000) {
    res.status(400).json({ error: 'prompt: a non-empty string of at most 10000 characters is required' });
    return undefined;
  }
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 512) {
    res.status(400).json({ error: 'max_tokens: an integer from 1 to 512' });
    return undefined;
  }
  return { prompt: body.prompt, maxTokens, stream: body.stream === true };
}

/** Creates the API. The caller listens and closes the Meter. */
export function createLlmApp(options: LlmApiOptions): express.Express {
  const { meter, apiKeys, tokenDelayMs = 2, log = () => undefined } = options;
  const cache = new CompletionCache();
  const app = express();
  app.use(express.json({ limit: '64kb' }));

  app.use('/v1', (req: Request, res: Response, next: NextFunction) => {
    const key = /^Bearer (.+)$/.exec(req.header('authorization') ?? '')?.[1];
    const customerId = key === undefined ? undefined : apiKeys.get(key);
    if (customerId === undefined) return void res.status(401).json({ error: 'unknown API key' });
    res.locals.customerId = customerId;
    next();
  });

  /** The model, through the cache: a hit is served again and costs nothing. */
  function answer(request: CompletionRequest): { tokens: string[]; cached: boolean } {
    const hit = cache.get(request.prompt, request.maxTokens);
    if (hit !== undefined) return { tokens: hit, cached: true };
    const tokens = complete(request.prompt, request.maxTokens);
    cache.set(request.prompt, request.maxTokens, tokens);
    return { tokens, cached: false };
  }

  // Streamed answers: billed per token sent, by meterStream, when the response closes.
  app.post('/v1/completions', (req: Request, res: Response, next: NextFunction) => {
    if (req.body?.stream !== true) return next();
    const request = parseBody(req, res);
    if (request === undefined) return;
    const { tokens, cached } = answer(request);
    const customerId = res.locals.customerId as string;
    const usage = meterStream(meter, req, res, { customerId: cached ? NOTHING_TO_BILL : customerId, metadata: { model: 'demo-small' } });
    res.on('close', () => {
      const outcome = res.writableFinished ? 'ended' : 'aborted';
      log({ event: 'completion', stream: outcome, customerId, requestId: billingRequestId(req, res), cached, inputTokens: usage.units.input_tokens ?? 0, outputTokens: usage.units.output_tokens ?? 0 });
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': billingRequestId(req, res) });
    if (!cached) usage.add('input_tokens', tokenize(request.prompt).length);
    let sent = 0;
    const sendNext = (): void => {
      if (res.destroyed || res.writableEnded) return; // the client went away: what was sent is billed
      if (sent === tokens.length) {
        res.end('data: [DONE]\n\n');
        return;
      }
      res.write(`data: ${JSON.stringify({ token: tokens[sent] })}\n\n`);
      sent++;
      if (!cached) usage.add('output_tokens', 1);
      setTimeout(sendNext, tokenDelayMs);
    };
    sendNext();
  });

  // Whole answers: billed from the handler's result, two reasons, nothing for a cache hit.
  app.post(
    '/v1/completions',
    ...meteredRoute(
      meter,
      (req, res): Completion | undefined => {
        const request = parseBody(req, res);
        if (request === undefined) return undefined; // answered 400: not billed
        const { tokens, cached } = answer(request);
        const completion: Completion = { id: billingRequestId(req, res), text: tokens.join(' '), cached, usage: { inputTokens: tokenize(request.prompt).length, outputTokens: tokens.length } };
        res.on('close', () => {
          if (res.writableFinished) log({ event: 'completion', stream: false, customerId: res.locals.customerId, requestId: completion.id, cached, inputTokens: cached ? 0 : completion.usage.inputTokens, outputTokens: cached ? 0 : completion.usage.outputTokens });
        });
        return completion;
      },
      {
        customerId: (_req, res) => res.locals.customerId as string,
        // Echo the id the call is billed under (off by default), as the streams do above.
        responseHeader: 'x-request-id',
        deltas: (_req, _res, completion) =>
          completion === undefined || completion.cached
            ? NOTHING_TO_BILL
            : [
                { reason: 'input_tokens', delta: -completion.usage.inputTokens },
                { reason: 'output_tokens', delta: -completion.usage.outputTokens },
              ],
        metadata: () => ({ model: 'demo-small' }),
      },
    ),
  );
  return app;
}
