// Shared helpers for the end-to-end tests: launch Debian's Chromium through
// playwright-core (no browser download), find the server under test, and act as one of its
// accounts (a browser login with the demo accounts, or the admin token for API polling).
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const RESULTS_DIR = new URL('../test-results/', import.meta.url);
const SCREENSHOTS_DIR = new URL('screenshots/', RESULTS_DIR);

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

export function adminToken() {
  const token = process.env.SOUNDLAKE_E2E_ADMIN_TOKEN;
  if (!token) {
    throw new Error(
      'SOUNDLAKE_E2E_ADMIN_TOKEN is not set: `./dev.sh test` sets it; against your own ' +
        'server, set it to the server\'s admin token (<data dir>/admin-token)',
    );
  }
  return token;
}

// `fetch` of a path of the server as an admin script would: with the admin token, which the
// API and the page guards take as an admin. For polling and server-rendering checks; the
// browser tests log in instead.
export function adminFetch(path, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${adminToken()}`);
  return fetch(`${baseUrl()}${path}`, { ...init, headers });
}

// The page each role lands on after logging in.
export const HOME = { listener: '/for-you', business: '/dashboards', admin: '/admin' };

// The demo accounts by role ({ name, role, password }), read once from the file the demo
// server wrote its random passwords to.
let accounts;
export function demoAccounts() {
  if (accounts) return accounts;
  const file = process.env.SOUNDLAKE_E2E_ACCOUNTS;
  if (!file) {
    throw new Error(
      'SOUNDLAKE_E2E_ACCOUNTS is not set: `./dev.sh test` sets it; against your own ' +
        'server, set it to its demo accounts file (<data dir>/demo-accounts)',
    );
  }
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read the demo accounts file ${file} (SOUNDLAKE_E2E_ACCOUNTS): ${err.message}`,
      { cause: err },
    );
  }
  // Tab-separated name, role and password, after a comment line.
  const found = {};
  for (const line of text.split('\n').map((l) => l.replace(/\r$/, ''))) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [name, role, password] = line.split('\t');
    if (name && role && password) found[role] = { name, role, password };
  }
  for (const role of Object.keys(HOME)) {
    if (!found[role]) throw new Error(`the demo accounts file ${file} has no ${role} account`);
  }
  accounts = found;
  return accounts;
}

export const account = (role) => demoAccounts()[role];

// Fills the login form of the page (already on /login) as `name` with `password`, submits it
// and waits for the server's answer: a page other than the login page, or the login page
// again with an error.
export async function submitLogin(page, name, password) {
  await page.fill('#login-name', name);
  await page.fill('#login-password', password);
  await Promise.all([
    page.waitForURL((url) => url.pathname !== '/login' || url.searchParams.has('error')),
    page.click('form.login-form button[type="submit"]'),
  ]);
}

// Logs `page` in as the demo account of `role` through the login page and checks that it
// landed on the role's page.
export async function logIn(page, role) {
  const { name, password } = account(role);
  await page.goto(`${baseUrl()}/login`);
  await submitLogin(page, name, password);
  const landed = new URL(page.url());
  if (landed.pathname !== HOME[role]) {
    const error = await page.textContent('#login-error').catch(() => 'none');
    throw new Error(
      `logging in as ${name} led to ${landed.pathname}${landed.search}, not ` +
        `${HOME[role]} (login error: ${error})`,
    );
  }
}

// A same-origin `fetch` made by the page itself, so that it carries the page's session
// cookie and Origin as the app's own requests do; resolves to { status, body }.
export function fetchFromPage(page, path, init = {}) {
  return page.evaluate(async ({ path, init }) => {
    const res = await fetch(path, init);
    const text = await res.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body };
  }, { path, init });
}

// Saves a full-page screenshot of `page` as end2end/test-results/screenshots/<name>.png.
export async function saveScreenshot(page, name) {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const file = new URL(`${name.replace(/[^\w-]+/g, '-')}.png`, SCREENSHOTS_DIR);
  await page.screenshot({ path: fileURLToPath(file), fullPage: true });
}

// Runs `body(page)` on a fresh page of `browser` (actions wait up to `waitMs`); on failure
// saves a screenshot named after `name` in end2end/test-results/ and fails with the error.
// Each page has a browser context of its own, so that a login's session cookie does not leak
// into another test. An uncaught script error, a panic of the wasm module or an island the
// module lacks fails the test too.
export async function onFreshPage(browser, name, waitMs, body) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(waitMs);
  const broken = [];
  page.on('pageerror', (err) => {
    // A test that navigates on before the module has loaded cuts its import short; a module
    // that is really missing fails the tests that wait for an island.
    if (!err.message.startsWith('Failed to fetch dynamically imported module')) {
      broken.push(`uncaught: ${err.message}`);
    }
  });
  page.on('console', (msg) => {
    if (/panicked at|Could not find WASM function/.test(msg.text())) broken.push(msg.text());
  });
  try {
    await body(page);
    if (broken.length > 0) throw new Error(`the page logged errors: ${broken.join(' | ')}`);
  } catch (err) {
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = new URL(`${name.replace(/[^\w-]+/g, '-')}.png`, RESULTS_DIR);
    await page.screenshot({ path: fileURLToPath(file), fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await context.close();
  }
}
