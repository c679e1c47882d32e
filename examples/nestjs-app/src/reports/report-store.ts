// The app's "database": reports in memory, per customer, with Idempotency-Key support on create.
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

export interface Report {
  id: string;
  title: string;
  rows: number;
  status: 'ready';
  createdAt: string;
}

export interface NewReport {
  title: string;
  rows: number;
}

/** A field that failed validation, as answered in a 400. */
export interface FieldError {
  field: string;
  message: string;
}

/** Checks a `POST /v1/reports` body: `{ title: 1-200 characters, rows: integer 1-100000 }`. */
export function parseNewReport(body: unknown): { value: NewReport } | { errors: FieldError[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { errors: [{ field: 'body', message: 'must be a JSON object' }] };
  const input = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  if (typeof input.title !== 'string' || input.title.trim().length === 0 || input.title.length > 200) {
    errors.push({ field: 'title', message: 'must be a string of 1-200 characters' });
  }
  if (!Number.isInteger(input.rows) || (input.rows as number) < 1 || (input.rows as number) > 100_000) {
    errors.push({ field: 'rows', message: 'must be an integer from 1 to 100000' });
  }
  return errors.length > 0 ? { errors } : { value: { title: (input.title as string).trim(), rows: input.rows as number } };
}

/** `Idempotency-Key` values accepted: 1-100 characters of `[A-Za-z0-9_.:-]`. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,100}$/;

export type CreateOutcome =
  | { kind: 'created' | 'replayed'; report: Report }
  | { kind: 'conflict' };

interface StoredKey {
  fingerprint: string;
  reportId: string;
}

@Injectable()
export class ReportStore {
  private readonly reports = new Map<string, Map<string, Report & { createdAtMs: number }>>();
  private readonly keys = new Map<string, StoredKey>();

  /**
   * Creates a report. With an idempotency key, a repeat of the same request returns the report
   * created the first time (`replayed`), and a different request under the same key is a conflict.
   * Synchronous, so two concurrent requests with one key cannot both create.
   */
  create(customerId: string, input: NewReport, idempotencyKey?: string, now = Date.now()): CreateOutcome {
    const scopedKey = idempotencyKey === undefined ? undefined : `${customerId}\u0000${idempotencyKey}`;
    const fingerprint = JSON.stringify([input.title, input.rows]);
    if (scopedKey !== undefined) {
      const seen = this.keys.get(scopedKey);
      if (seen) {
        if (seen.fingerprint !== fingerprint) return { kind: 'conflict' };
        return { kind: 'replayed', report: this.get(customerId, seen.reportId)! };
      }
    }
    const report = { id: `rpt_${randomUUID().replace(/-/g, '').slice(0, 20)}`, title: input.title, rows: input.rows, status: 'ready' as const, createdAt: new Date(now).toISOString(), createdAtMs: now };
    let mine = this.reports.get(customerId);
    if (!mine) this.reports.set(customerId, (mine = new Map()));
    mine.set(report.id, report);
    if (scopedKey !== undefined) this.keys.set(scopedKey, { fingerprint, reportId: report.id });
    return { kind: 'created', report: publicReport(report) };
  }

  /** A customer's own report; another customer's id is "not found". */
  get(customerId: string, id: string): Report | undefined {
    const report = this.reports.get(customerId)?.get(id);
    return report && publicReport(report);
  }

  list(customerId: string): Report[] {
    return [...(this.reports.get(customerId)?.values() ?? [])].map(publicReport);
  }

  /** Reports each customer had stored at `at` (epoch ms): what storage billing charges for. */
  storedAt(at: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [customerId, mine] of this.reports) {
      let n = 0;
      for (const report of mine.values()) if (report.createdAtMs < at) n++;
      if (n > 0) counts.set(customerId, n);
    }
    return counts;
  }
}

function publicReport({ id, title, rows, status, createdAt }: Report): Report {
  return { id, title, rows, status, createdAt };
}
