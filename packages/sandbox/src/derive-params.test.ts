import { startSandbox, type Sandbox } from './index.js';
import { DELTA, call, delta, monthFromNow, post } from './test-helpers.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
  await post(sb, DELTA, delta({ delta: 5 }));
  await post(sb, DELTA, delta({ delta: -2 }));
});
afterAll(() => sb.close());

const derive = async (query: string) => call(sb, 'GET', `/api/v1/balance/derive/cust_1${query}`);

/** ISO start of the UTC month `offset` months from now. */
const monthStart = (offset: number) => `${monthFromNow(offset)}-01T00:00:00.000Z`;

describe('derive implements its documented parameters', () => {
  it('adds startingBalance to the computed balance', async () => {
    expect((await derive('?startingBalance=100.5')).json.data).toMatchObject({ computedBalance: 103.5, startingBalance: 100.5, deltasCount: 2 });
    expect((await derive('?startingBalance=-3')).json.data.computedBalance).toBe(0);
    expect((await derive('')).json.data).toMatchObject({ computedBalance: 3, startingBalance: 0 });
  });

  it('reads timePreset=current_month as the current UTC month and custom as the given dates', async () => {
    const current = (await derive('?timePreset=current_month')).json.data;
    expect(current).toMatchObject({ computedBalance: 3, startDate: monthStart(0), endDate: monthStart(1) });
    const custom = (await derive(`?timePreset=custom&startDate=${monthStart(-1)}&endDate=${monthStart(0)}`)).json.data;
    expect(custom).toMatchObject({ computedBalance: 0, deltasCount: 0, startDate: monthStart(-1) });
  });

  it('allows a window of 12 months and answers SCOPE_TOO_WIDE beyond it', async () => {
    expect((await derive(`?startDate=${monthStart(-11)}&endDate=${monthStart(1)}`)).json.data.computedBalance).toBe(3);
    const sixYears = await derive(`?startDate=${monthStart(-72)}&endDate=${monthStart(1)}`);
    expect(sixYears.status).toBe(400);
    expect(sixYears.json.error).toMatchObject({ code: 'SCOPE_TOO_WIDE', field: 'endDate' });
    const thirteen = await derive(`?timePreset=custom&startDate=${monthStart(-12)}&endDate=${monthStart(1)}`);
    expect(thirteen.json.error.code).toBe('SCOPE_TOO_WIDE');
  });
});

describe('derive refuses, naming it, every parameter it would otherwise ignore', () => {
  it.each([
    ['?timePreset=last_month', 400, 'VALIDATION_ERROR', 'timePreset'],
    ['?timePreset=custom', 400, 'VALIDATION_ERROR', 'startDate'],
    ['?timePreset=current_month&startDate=2026-01-01&endDate=2026-02-01', 400, 'INVALID_SCOPE_COMBINATION', 'startDate'],
    ['?period=2026-01&timePreset=current_month', 400, 'INVALID_SCOPE_COMBINATION', 'period'],
    ['?startingCheckpoint=0xabc&period=2026-01', 400, 'INVALID_SCOPE_COMBINATION', 'startingCheckpoint'],
    ['?startingCheckpoint=0xabc', 400, 'NOT_IMPLEMENTED_IN_SANDBOX', 'startingCheckpoint'],
    ['?startingCheckpointType=proofRoot', 400, 'NOT_IMPLEMENTED_IN_SANDBOX', 'startingCheckpointType'],
    ['?granularity=day', 400, 'NOT_IMPLEMENTED_IN_SANDBOX', 'granularity'],
    ['?startingBalance=lots', 400, 'VALIDATION_ERROR', 'startingBalance'],
    ['?perod=2026-01', 400, 'VALIDATION_ERROR', 'perod'],
    ['?limit=5&limit=6', 400, 'VALIDATION_ERROR', 'limit'],
  ])('%s -> %i %s naming %s', async (query, status, code, field) => {
    const res = await derive(query);
    expect(res.status).toBe(status);
    expect(res.json.error).toMatchObject({ code, field });
    expect(res.json.error.message).toContain(field);
  });
});
