// Shared helpers for the end-to-end tests: launch Debian's Chromium through
// playwright-core (no browser download) and find the server under test.
import { chromium } from 'playwright-core';

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
