// The sandbox page in a real headless Chromium: a real Express app bills through the Meter into the
// sandbox, the page shows the delta, and a fault switched on from the page makes the next delivery
// be retried. Set SANDBOX_SCREENSHOT=path.png to save what the page looked like at the end (that is
// how packages/sandbox/screenshot.png is made).
import { existsSync } from 'node:fs';
import { createMeter, type Meter } from '@pacspace-metering/core';
import { meterRequests } from '@pacspace-metering/express';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { listen, type RunningApp } from '../packages/express/test-support/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const haveChromium = existsSync(CHROMIUM);
// Locally a missing browser skips these tests (said on the console); in CI (.ci/run installs it) it fails them.
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is absent in CI: .ci/run installs it with apt-get install -y chromium`);
if (!haveChromium) console.warn(`Skipping the sandbox page tests: ${CHROMIUM} is absent (apt-get install -y chromium).`);
const describeInBrowser = haveChromium ? describe : describe.skip;

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

    if (process.env.SANDBOX_SCREENSHOT) await page.screenshot({ path: process.env.SANDBOX_SCREENSHOT, fullPage: true });
  });
});
