// The sandbox page in a real headless Chromium: a real Express app bills through the Meter into the
// sandbox, the page shows the delta, and a fault switched on from the page makes the next delivery
// be retried; fault switches say what their config does, batch rows link to their ledger rows. Set SANDBOX_SCREENSHOT=path.png to save what the page looked like at the end (that is
// how packages/sandbox/screenshot.png is made).
import { createMeter, type Meter } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { listen, type RunningApp } from '../packages/express/test-support/harness.js';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium } from './support/chromium.js';

const describeInBrowser = haveChromium('the sandbox page tests') ? describe : describe.skip;

describeInBrowser('the sandbox page (headless Chromium)', () => {
  let sandbox: Sandbox;
  let meter: Meter;
  let app: RunningApp;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    sandbox = await startSandbox();
    // Retries quick and unbounded enough to outlast a fault that stays on until the page turns it off.
    meter = createMeter({ apiKey: sandbox.apiKey, baseUrl: sandbox.url, scope: 'page-e2e', retryBaseDelayMs: 20, retryMaxDelayMs: 200, maxAttempts: 1000 });
    const server = express();
    server.use(
      meterRequests(meter, {
        customerId: (req) => req.get('x-customer'),
        metadata: (req) => ({ plan: 'pro', path: req.path }),
      }),
    );
    server.get('/v1/reports/:id', (req, res) => void res.json({ id: req.params.id }));
    app = await listen(server);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await meter?.close({ timeoutMs: 5_000 });
    await sandbox?.close();
  });

  const bill = async (id: string): Promise<void> => {
    const res = await fetch(`${app.url}/v1/reports/${id}`, { headers: { 'x-customer': 'cust_page' } });
    expect(res.status).toBe(200);
  };
  const referenceIds = (): (string | null)[] => sandbox.ledger().deltas.map((d) => d.referenceId);

  it('asks for the key, then shows a billed delta with its referenceId, metadata, status and balance', async () => {
    await page.goto(`${sandbox.url}/`);
    await page.locator('#api-key').fill('pk_test_wrong.key');
    await page.locator('#key-form button').click();
    await page.locator('#key-error').filter({ hasText: /./ }).waitFor();
    expect(await page.locator('#dashboard').isHidden()).toBe(true);

    await page.locator('#api-key').fill(sandbox.apiKey);
    await page.locator('#key-form button').click();
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    expect(page.url()).toBe(`${sandbox.url}/`); // the key never travels in the URL

    await bill('1');
    await meter.flush({ timeoutMs: 10_000 });
    const [referenceId] = referenceIds();
    expect(referenceId).toEqual(expect.any(String));
    const row = page.locator(`#deltas tr[data-reference-id="${referenceId}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain('cust_page');
    expect(await row.innerText()).toContain('VERIFIED');
    expect(await row.innerText()).toContain('"plan":"pro"');
    await page.locator('#balances tr', { hasText: 'cust_page' }).filter({ hasText: '-1' }).waitFor();
  });

  it('switches a fault on from the page and shows the next delivery failing, then retried once it is off', async () => {
    await page.locator('input[data-fault="serverError"]').check();
    const faults = await (await fetch(`${sandbox.url}/_sandbox/faults`, { headers: { 'x-api-key': sandbox.apiKey } })).json();
    expect(faults.data.faults).toEqual({ serverError: { rate: 1, statuses: [503] } });

    await bill('2');
    await page.locator('#requests tr[data-outcome="fault:server-error"]').first().waitFor();
    expect(referenceIds()).toHaveLength(1);

    await page.locator('input[data-fault="serverError"]').uncheck();
    await meter.flush({ timeoutMs: 10_000 });
    expect(referenceIds()).toHaveLength(2);
    await page.locator(`#deltas tr[data-reference-id="${referenceIds()[1]}"]`).waitFor();
    const retried = page.locator('#requests tr[data-outcome="committed"]:not([data-retry="0"])');
    await retried.first().waitFor();
    expect(await retried.first().innerText()).toMatch(/retry \d+/);
  });

  // Issue 20, item 18: a switch says what its fault really does, and switching a custom one off and
  // on again brings it back instead of replacing it with the one-click preset.
  it('describes a custom fault config on its switch, and keeps it through off and on', async () => {
    const custom = { serverError: { requests: [3], statuses: [503] } };
    await control('PUT', '/_sandbox/faults', custom);
    const label = page.locator('label', { has: page.locator('input[data-fault="serverError"]') });
    await label.filter({ hasText: 'Server error (503) on write #3 (custom)' }).waitFor();
    expect(await page.locator('input[data-fault="serverError"]').isChecked()).toBe(true);
    expect(await label.innerText()).not.toContain('every write');

    await page.locator('input[data-fault="serverError"]').uncheck();
    await page.waitForFunction(() => !(document.querySelector('input[data-fault="serverError"]') as HTMLInputElement).checked);
    expect((await control('GET', '/_sandbox/faults')).faults).toEqual({});
    expect(await label.innerText()).toBe('Server error (503) on write #3 (custom)'); // what switching on will set

    await page.locator('input[data-fault="serverError"]').check();
    await label.filter({ hasText: '(custom)' }).waitFor();
    expect((await control('GET', '/_sandbox/faults')).faults).toEqual(custom);
    // The presets say what they do too.
    expect(await page.locator('label', { has: page.locator('input[data-fault="itemFailures"]') }).innerText()).toBe('50% of batch items fail');
    await control('PUT', '/_sandbox/faults', {});
  });

  it('ties a batch row to its customers and ledger rows, shows Idempotency-Key and adjusts, counts faulted items, rounds balances', async () => {
    sandbox.setFaults({ itemFailures: { customerIds: ['cust_fail'] } });
    const before = sandbox.ledger().deltas.length;
    const deltas = [
      { customerId: 'cust_round', delta: -0.1, reason: 'api_call', referenceId: 'round-1' },
      { customerId: 'cust_round', delta: -0.2, reason: 'api_call', referenceId: 'round-2' },
      { customerId: 'cust_fail', delta: -1, reason: 'api_call', referenceId: 'fail-1' },
      { customerId: 'cust_other', delta: -1, reason: 'api_call', referenceId: 'other-1' },
    ];
    const batch = await write('/api/v1/balance/delta/batch', { deltas }, 'batch-key-1');
    expect(batch).toMatchObject({ totalQueued: 3, totalFailed: 1 });
    const fix = await write('/api/v1/balance/delta', { customerId: 'cust_round', delta: 0.1, reason: 'refund', adjusts: { referenceId: 'round-1' } }, 'fix-1');
    const committed = sandbox.ledger().deltas.slice(before).map((d) => d.recordId);
    expect(committed).toHaveLength(4);
    sandbox.setFaults({});

    const row = page.locator('#requests tr', { hasText: 'POST /api/v1/balance/delta/batch' }).filter({ hasText: 'batch-key-1' });
    await row.waitFor();
    expect(await row.innerText()).toContain('cust_round, cust_fail, cust_other');
    await page.locator('#counts', { hasText: /1 faulted batch item\b/ }).waitFor();

    await row.locator('a.record-link').click();
    const classOf = async (id: string) => (await page.locator(`#record-${id}`).getAttribute('class')) ?? '';
    for (const id of committed.slice(0, 3)) expect(await classOf(id)).toContain('linked');
    expect(await classOf(fix.recordId)).not.toContain('linked');

    const fixRow = page.locator(`#record-${fix.recordId}`);
    expect(await fixRow.innerText()).toContain('fix-1');
    expect(await fixRow.innerText()).toContain(`${committed[0]} (round-1)`);
    expect(await page.locator(`#record-${committed[0]}`).innerText()).toContain('batch-key-1');
    // -0.1 + -0.2 + 0.1 in floating point is -0.20000000000000004; PacSpace books -0.2.
    const balance = page.locator('#balances tr', { hasText: 'cust_round' });
    expect((await balance.locator('td').nth(1).innerText()).trim()).toBe('-0.2');

    if (process.env.SANDBOX_SCREENSHOT) await page.screenshot({ path: process.env.SANDBOX_SCREENSHOT, fullPage: true });
  });

  /** A control-plane call with the sandbox key; resolves with `data`. */
  async function control(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: { 'x-api-key': sandbox.apiKey, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()).data;
  }

  /** A write to the Balance API as a client would send it; resolves with `data`. */
  async function write(path: string, body: unknown, idempotencyKey: string): Promise<any> {
    const res = await fetch(`${sandbox.url}${path}`, {
      method: 'POST',
      headers: { 'x-api-key': sandbox.apiKey, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()).data;
  }
});
