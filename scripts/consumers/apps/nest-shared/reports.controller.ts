// The controller of the nestjs package's quick start: every route billed under 'report_viewed'.
import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { Metered, SkipMetering } from '@pacspace-metering/nestjs';

@Controller('reports')
@Metered('report_viewed')
export class ReportsController {
  @Get('health') @SkipMetering() health() { return 'ok'; }

  @Get(':id') findOne(@Param('id') id: string) {
    if (id === 'missing') throw new NotFoundException('no such report');
    return { id };
  }
}
