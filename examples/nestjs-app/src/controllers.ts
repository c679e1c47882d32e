import { Controller, Get } from '@nestjs/common';
import { Public } from './auth/api-key.guard.js';
import { PRICES } from './billing/billing-stats.js';

/** Free, no API key: for load balancers. */
@Controller('health')
@Public()
export class HealthController {
  @Get()
  health(): { status: string } {
    return { status: 'ok' };
  }
}

/** Free, but needs an API key (authenticated does not mean billed: no `@Metered` here). */
@Controller('v1/plans')
export class PlansController {
  @Get()
  plans(): { data: Array<{ operation: string; units: number }> } {
    return { data: Object.entries(PRICES).map(([operation, units]) => ({ operation, units })) };
  }
}
