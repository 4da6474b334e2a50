// Shared helpers for the end-to-end tests: launch Debian's Chromium through
// playwright-core (no browser download) and find the server under test.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const RESULTS_DIR = new URL('../test-results/', import.meta.url);

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function baseUrl() {
  const url = process.env.SOUNDLAKE_E2E_URL;
  if (!url) {
    throw new Error(
      'SOUNDLAKE_E2E_URL is not set: run the suite with `./dev.sh test` (it starts ' +
        'the server and sets it), or set it to a running server, e.g. ' +
        'SOUNDLAKE_E2E_URL=http://127.0.0.1:3000 npm test',
    );
  }
  return url.replace(/\/+$/, '');
}

// Runs `body(page)` on a fresh page of `browser` (actions wait up to `waitMs`); on failure
// saves a screenshot named after `name` in end2end/test-results/ and fails with the error.
export async function onFreshPage(browser, name, waitMs, body) {
  const page = await browser.newPage();
  page.setDefaultTimeout(waitMs);
  try {
    await body(page);
  } catch (err) {
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = new URL(`${name.replace(/[^\w-]+/g, '-')}.png`, RESULTS_DIR);
    await page.screenshot({ path: fileURLToPath(file), fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await page.close();
  }
}
