import { errorReply, validationError, type Reply } from './envelope.js';
import { notImplementedParameter } from './not-implemented.js';
import { parseIsoDate, parsePeriod, periodOf, type TimeRange } from './validation.js';

/** Widest derive range the sandbox allows; PacSpace caps scope too (SCOPE_TOO_WIDE). */
export const MAX_SCOPE_MONTHS = 12;
const MAX_PAGE = 1000;

const SCOPE_PARAMS = ['period', 'timePreset', 'startDate', 'endDate'] as const;
const KNOWN_PARAMS = new Set<string>([...SCOPE_PARAMS, 'startingBalance', 'startingCheckpoint', 'startingCheckpointType', 'granularity', 'limit', 'offset']);
const TIME_PRESETS = ['current_month', 'custom'];
const SUPPORTED = 'period, timePreset (current_month, custom), startDate & endDate, startingBalance, limit, offset';

/** A derive query, checked: what to sum and which page to list. */
export interface DeriveQuery {
  range: TimeRange;
  startingBalance: number;
  limit: number;
  offset: number;
}

/**
 * Reads derive's query parameters, implementing each documented one or refusing it by name:
 * nothing is accepted and ignored. Scope rules follow PacSpace's: period, timePreset and a date
 * range are exclusive modes; a starting checkpoint excludes every scope field.
 */
export function parseDeriveQuery(query: URLSearchParams, now: number): DeriveQuery | Reply {
  for (const key of new Set(query.keys())) {
    if (!KNOWN_PARAMS.has(key)) return validationError(key, `${key} is not a derive parameter; known: ${[...KNOWN_PARAMS].join(', ')}`);
    if (query.getAll(key).length > 1) return validationError(key, `${key} is given more than once`);
  }
  const has = (name: string): boolean => query.has(name);
  if (has('startingCheckpoint') && SCOPE_PARAMS.some(has)) {
    return scopeCombination('startingCheckpoint', 'startingCheckpoint cannot be combined with period, timePreset, startDate or endDate');
  }
  for (const name of ['startingCheckpoint', 'startingCheckpointType', 'granularity']) {
    if (has(name)) return notImplementedParameter(name, SUPPORTED);
  }
  const range = deriveRange(query, now);
  if ('status' in range) return range;

  const startingBalance = numberParam(query.get('startingBalance'), 0);
  if (startingBalance === null) return validationError('startingBalance', 'startingBalance must be a finite number');
  const limit = intParam(query.get('limit'), 100);
  if (limit === null || limit < 1 || limit > MAX_PAGE) return validationError('limit', `limit must be an integer from 1 to ${MAX_PAGE}`);
  const offset = intParam(query.get('offset'), 0);
  if (offset === null) return validationError('offset', 'offset must be a non-negative integer');
  return { range, startingBalance, limit, offset };
}

/** period, timePreset, or startDate & endDate (half-open); by default the current UTC month. */
function deriveRange(query: URLSearchParams, now: number): TimeRange | Reply {
  const [period, preset, startDate, endDate] = SCOPE_PARAMS.map((name) => query.get(name));
  if (period !== null && (preset !== null || startDate !== null || endDate !== null)) {
    return scopeCombination('period', 'period cannot be combined with timePreset, startDate or endDate');
  }
  if (period !== null) return parsePeriod(period) ?? validationError('period', 'period must be a month as YYYY-MM');
  if (preset !== null && !TIME_PRESETS.includes(preset)) {
    return validationError('timePreset', `timePreset must be one of ${TIME_PRESETS.join(', ')} (other ranges: timePreset=custom with startDate and endDate)`);
  }
  if (preset === 'current_month' && (startDate !== null || endDate !== null)) {
    return scopeCombination(startDate !== null ? 'startDate' : 'endDate', "startDate and endDate can only be used with timePreset 'custom' or without timePreset");
  }
  if (startDate === null && endDate === null) {
    if (preset === 'custom') return validationError('startDate', "timePreset 'custom' requires startDate and endDate");
    return parsePeriod(periodOf(now))!;
  }
  if (startDate === null || endDate === null) {
    return validationError(startDate === null ? 'startDate' : 'endDate', 'startDate and endDate must be given together (ISO 8601)');
  }
  const start = parseIsoDate(startDate);
  if (start === null) return validationError('startDate', 'startDate must be an ISO 8601 date or date-time');
  const end = parseIsoDate(endDate);
  if (end === null || end <= start) return validationError('endDate', 'endDate must be an ISO 8601 date or date-time after startDate');
  if (end > addUtcMonths(start, MAX_SCOPE_MONTHS)) {
    return errorReply(400, 'SCOPE_TOO_WIDE', `The range from startDate to endDate spans more than ${MAX_SCOPE_MONTHS} months; split it.`, 'invalid', { field: 'endDate' });
  }
  return { start, end };
}

function scopeCombination(field: string, message: string): Reply {
  return errorReply(400, 'INVALID_SCOPE_COMBINATION', message, 'invalid', { field });
}

function addUtcMonths(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

function intParam(value: string | null, fallback: number): number | null {
  if (value === null) return fallback;
  return /^\d{1,9}$/.test(value) ? Number(value) : null;
}

function numberParam(value: string | null, fallback: number): number | null {
  if (value === null) return fallback;
  return /^-?\d{1,12}(\.\d{1,12})?$/.test(value) ? Number(value) : null;
}
