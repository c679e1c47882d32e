// The sandbox page's "Balance gate" section in a real headless Chromium, in front of a real Express
// app gated by createBalanceGate(): a top-up from the page lets a refused customer be served, and
// the page's derive switches make the app's balance reads fail, then slow.
import { existsSync } from 'node:fs';
import { createDefaultReporter } from '@pacspace-metering/core';
import { startSandbox, type Sandbox } from '@pacspace-metering/sandbox';
import { chromium, type Browser, type Page } from 'playwright-core';
import { gatedApp, type GatedApp } from './support/gated-app.js';
import { waitFor } from './support/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is absent in CI: .ci/run installs it with apt-get install -y chromium`);
const describeInBrowser = haveChromium ? describe : describe.skip;

describeInBrowser("the sandbox page's Balance gate section (headless Chromium)", () => {
  let sandbox: Sandbox;
  let gated: GatedApp;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    sandbox = await startSandbox();
    gated = await gatedApp(sandbox, { ttlMs: 1000, waitMs: 100, logger: createDefaultReporter(() => undefined) });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${sandbox.url}/`);
    await page.locator('#api-key').fill(sandbox.apiKey);
    await page.locator('#key-form button').click();
    await page.locator('#dashboard').waitFor({ state: 'visible' });
  });
  afterAll(async () => {
    await browser?.close();
    await gated?.close();
    await sandbox?.close();
  });

  it('tops up a customer from the page: refused before, served after, the balance shown', async () => {
    expect((await gated.call('page-cust')).status).toBe(402);
    await page.locator('#top-up-customer').fill('page-cust');
    await page.locator('#top-up-amount').fill('2');
    await page.locator('#top-up-form button').click();
    await page.locator('#top-up-result').filter({ hasText: /page-cust \+2/ }).waitFor();
    await page.locator('#balances tr', { hasText: 'page-cust' }).filter({ hasText: '2' }).waitFor();
    gated.clock.advance(1000);
    await gated.call('page-cust'); // stale: refreshes
    await waitFor(() => gated.gate.stats().readsInFlight === 0 && gated.gate.stats().deriveCalls === 2, 'the refresh');
    expect((await gated.call('page-cust')).status).toBe(200);
  });

  it("switches the app's balance reads to failing, then slow, and off", async () => {
    await page.getByLabel('Balance reads fail (503)').check();
    await until(async () => (await derive())?.status === 503, 'the derive fault on');
    expect((await gated.call('page-new')).status).toBe(200); // no balance, PacSpace down: whenUnavailable 'serve'
    expect(gated.gate.stats()).toMatchObject({ unavailableServed: 1, deriveFailures: 1 });

    await page.getByLabel('Balance reads take 3 s').check();
    await until(async () => same(await derive(), { latencyMs: 3000, status: 503 }), 'both derive switches on');
    await page.getByLabel('Balance reads fail (503)').uncheck();
    await until(async () => same(await derive(), { latencyMs: 3000 }), 'only slow reads');
    await page.getByLabel('Balance reads take 3 s').uncheck();
    await until(async () => (await derive()) === undefined, 'the derive fault off');
  });

  /** The sandbox's current derive fault, read over its control route. */
  async function derive(): Promise<{ status?: number; latencyMs?: number } | undefined> {
    const res = await fetch(`${sandbox.url}/_sandbox/faults`, { headers: { 'x-api-key': sandbox.apiKey } });
    return ((await res.json()) as { data: { faults: { derive?: { status?: number; latencyMs?: number } } } }).data.faults.derive;
  }
});

function same(fault: { status?: number; latencyMs?: number } | undefined, expected: { status?: number; latencyMs?: number }): boolean {
  return fault?.status === expected.status && fault?.latencyMs === expected.latencyMs;
}

/** Polls an asynchronous condition until it holds; fails naming `what` after 15 s. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
