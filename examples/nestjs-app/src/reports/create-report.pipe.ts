import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { parseNewReport, type NewReport } from './report-store.js';

/** Validates the `POST /v1/reports` body; a bad one is a 400 (never billed). */
@Injectable()
export class CreateReportPipe implements PipeTransform<unknown, NewReport> {
  transform(body: unknown): NewReport {
    const parsed = parseNewReport(body);
    if ('errors' in parsed) throw new BadRequestException({ error: 'validation_failed', details: parsed.errors });
    return parsed.value;
  }
}
