import type { BatchItems, Outcome } from './ledger.js';

/** A finished answer: status, serialized body, extra headers, and how the request log files it. */
export interface Reply {
  status: number;
  body: string;
  headers?: Record<string, string>;
  outcome: Outcome;
  customerId?: string;
  /** A batch's per-item outcomes, for the request log. */
  items?: BatchItems;
  /** For the request log: see {@link LogLinks}. */
  links?: LogLinks;
  /** Close the connection after answering (used when the body was left unread). */
  close?: boolean;
}

/**
 * What ties a request-log entry to the ledger, when there is something to tie: the ledger records
 * the request committed, and a batch's customers (a single delta names its own in `customerId`).
 */
export interface LogLinks {
  recordIds?: string[];
  customerIds?: string[];
}

/** An answer that is no answer: the socket is reset or closed without a response. */
export interface Drop {
  drop: 'reset' | 'close';
  outcome: Outcome;
  customerId?: string;
  items?: BatchItems;
  links?: LogLinks;
}

/** Success that the write pipeline may still store for idempotent replay before serializing. */
export interface Success {
  status: number;
  data: object;
  outcome: Outcome;
  customerId?: string;
  items?: BatchItems;
  links?: LogLinks;
}

export interface ErrorDetails {
  field?: string;
  retryAfterSeconds?: number;
  customerId?: string;
  /** On 501 NOT_IMPLEMENTED_IN_SANDBOX: the routes that are implemented. */
  implemented?: string[];
}

/** `{ success: true, statusCode, data }`: satisfies readers of either documented envelope. */
export function successBody(status: number, data: unknown): string {
  return JSON.stringify({ success: true, statusCode: status, data });
}

export function reply(s: Success): Reply {
  return { status: s.status, body: successBody(s.status, s.data), outcome: s.outcome, customerId: s.customerId, items: s.items, links: s.links };
}

/**
 * `{ success: false, statusCode, error: { code, message, ... }, message }`. The message is repeated
 * at the top level because older clients read only that. Retry hints also go in `Retry-After`.
 */
export function errorReply(status: number, code: string, message: string, outcome: Outcome, details: ErrorDetails = {}): Reply {
  const error: Record<string, unknown> = { code, message };
  if (details.field !== undefined) error.field = details.field;
  if (details.retryAfterSeconds !== undefined) error.retryAfterSeconds = details.retryAfterSeconds;
  if (details.customerId !== undefined) error.customerId = details.customerId;
  if (details.implemented !== undefined) error.implemented = details.implemented;
  return {
    status,
    body: JSON.stringify({ success: false, statusCode: status, error, message }),
    headers: details.retryAfterSeconds !== undefined ? { 'retry-after': String(details.retryAfterSeconds) } : undefined,
    outcome,
  };
}

/** 400 VALIDATION_ERROR naming the field, as every validation failure is reported. */
export function validationError(field: string, message: string, customerId?: string): Reply {
  return { ...errorReply(400, 'VALIDATION_ERROR', message, 'invalid', { field }), customerId };
}

/** The in-flight answer for a key whose first request has not finished (top-level `code`, as PacSpace sends it). */
export function pendingReply(): Reply {
  return {
    status: 202,
    body: JSON.stringify({
      success: false,
      statusCode: 202,
      code: 'IDEMPOTENCY_PENDING',
      retryAfterSeconds: 1,
      message: 'A request with this Idempotency-Key is still being processed; retry later.',
    }),
    headers: { 'retry-after': '1' },
    outcome: 'pending',
  };
}
