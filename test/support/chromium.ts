// Debian's Chromium, driven by playwright-core (which cannot download a browser here). Locally a
// missing browser skips the tests that need it (said on the console); in CI (.ci/run installs it)
// it fails them.
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * Whether Chromium is there to run `what`; throws in CI when it is not.
 *
 * @example
 * const describeInBrowser = haveChromium('the sandbox page tests') ? describe : describe.skip;
 */
export function haveChromium(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`${CHROMIUM} is absent in CI: .ci/run installs it with apt-get install -y chromium`);
  console.warn(`Skipping ${what}: ${CHROMIUM} is absent (apt-get install -y chromium).`);
  return false;
}
