import { Body, ConflictException, Controller, Get, Headers, HttpCode, NotFoundException, Param, Post, Req, Res, BadRequestException } from '@nestjs/common';
import { Metered, SkipMetering } from '@pacspace-metering/nestjs';
import type { Response } from 'express';
import type { AuthedRequest } from '../auth/api-key.guard.js';
import { PRICES } from '../billing/billing-stats.js';
import { CreateReportPipe } from './create-report.pipe.js';
import { IDEMPOTENCY_KEY, ReportStore, type NewReport, type Report } from './report-store.js';

/**
 * Every route here is billed as `report_viewed` (1 unit) unless it says otherwise. Billing happens
 * when the response has finished with a status below 400: a 400 from the pipe, a 404, a 409 or a
 * 500 from a throwing handler is never billed.
 */
@Controller('v1/reports')
@Metered('report_viewed')
export class ReportsController {
  constructor(private readonly reports: ReportStore) {}

  /** Free: listing your own reports. */
  @Get()
  @SkipMetering()
  list(@Req() req: AuthedRequest): { data: Report[] } {
    return { data: this.reports.list(req.account!.customerId) };
  }

  /**
   * 5 units. With an `Idempotency-Key`, a retry returns the report created the first time (200,
   * `Idempotent-Replayed: true`) and bills under the same referenceId, so it is counted once.
   */
  @Post()
  @HttpCode(201)
  @Metered({ reason: 'report_generated', delta: -PRICES.report_generated, metadata: (_req, result?: Report) => ({ reportId: result?.id ?? null }) })
  create(
    @Req() req: AuthedRequest,
    @Body(CreateReportPipe) body: NewReport,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Report {
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new BadRequestException({ error: 'validation_failed', details: [{ field: 'Idempotency-Key', message: 'must be 1-100 characters of [A-Za-z0-9_.:-]' }] });
    }
    const outcome = this.reports.create(req.account!.customerId, body, key);
    if (outcome.kind === 'conflict') throw new ConflictException({ error: 'idempotency_conflict', message: 'This Idempotency-Key was used with a different request.' });
    if (outcome.kind === 'replayed') res.status(200).set('Idempotent-Replayed', 'true');
    return outcome.report;
  }

  /** 1 unit (the controller's `@Metered`). */
  @Get(':id')
  findOne(@Req() req: AuthedRequest, @Param('id') id: string): Report {
    const report = this.reports.get(req.account!.customerId, id);
    if (!report) throw new NotFoundException();
    return report;
  }

  /** 3 units, if it ever succeeded: the renderer is down, so this always answers 500 and never bills. */
  @Get(':id/pdf')
  @Metered({ reason: 'pdf_rendered', delta: -PRICES.pdf_rendered })
  async renderPdf(@Req() req: AuthedRequest, @Param('id') id: string): Promise<Buffer> {
    const report = this.reports.get(req.account!.customerId, id);
    if (!report) throw new NotFoundException();
    await new Promise((resolve) => setImmediate(resolve));
    throw new Error(`PDF renderer unavailable (report ${report.id})`);
  }
}
