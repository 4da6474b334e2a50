// Page timings in Chromium: for each role's page, the time to the first byte of the
// server-rendered page and the time until the WASM app has hydrated it (for /for-you, until
// its live list is connected), as a returning visitor sees them (the wasm and scripts in the
// browser's cache, checked again with the server), median and worst of several loads. A measuring command, not a test:
//
//   SOUNDLAKE_E2E_URL=http://127.0.0.1:3000 SOUNDLAKE_E2E_ACCOUNTS=<data dir>/demo-accounts \
//     npm run timings [-- LOADS]
//
// The first load of each page (a cold cache: the wasm fetched and compiled) is printed too.
import { baseUrl, demoAccounts, launchBrowser, logIn } from './tests/browser.mjs';

const PAGES = [
  { path: '/for-you', role: 'listener', ready: 'section.for-you .live-list[data-live="true"]' },
  { path: '/dashboards', role: 'business', ready: 'section.dashboards #weekly-listeners[data-drawn="true"]' },
  { path: '/admin', role: 'admin', ready: 'section.admin #simulator[data-hydrated="true"]' },
];
const LOADS = Number(process.argv[2] ?? 10);
if (!Number.isInteger(LOADS) || LOADS < 1 || LOADS > 1000) {
  console.error(`LOADS must be a whole number from 1 to 1000, not ${process.argv[2]}`);
  process.exit(2);
}

// One load of `path`: navigation to first byte, and navigation to `ready` present.
async function load(page, path, ready) {
  await page.goto(`${baseUrl()}${path}`, { waitUntil: 'commit' });
  await page.waitForSelector(ready, { timeout: 60_000 });
  return page.evaluate(() => {
    const [nav] = performance.getEntriesByType('navigation');
    return { ttfb: nav.responseStart - nav.startTime, hydrated: performance.now() };
  });
}

const ms = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * q))].toFixed(0);
};

demoAccounts();
const browser = await launchBrowser();
try {
  console.log(`${baseUrl()}: ${LOADS} loads of each page after a first, cold one`);
  console.log('page         role       cold TTFB  cold hydrated   TTFB p50/max   hydrated p50/max');
  for (const { path, role, ready } of PAGES) {
    // Logged in on a context of its own, so that the measured one starts with an empty cache
    // and only the session cookie.
    const login = await browser.newContext();
    await logIn(await login.newPage(), role);
    const cookies = await login.cookies();
    await login.close();
    const context = await browser.newContext();
    await context.addCookies(cookies);
    const page = await context.newPage();
    const cold = await load(page, path, ready);
    const warm = [];
    for (let i = 0; i < LOADS; i += 1) warm.push(await load(page, path, ready));
    await context.close();
    const ttfb = warm.map((t) => t.ttfb);
    const hydrated = warm.map((t) => t.hydrated);
    console.log(
      `${path.padEnd(12)} ${role.padEnd(10)} ${cold.ttfb.toFixed(0).padStart(6)} ms ` +
        `${cold.hydrated.toFixed(0).padStart(10)} ms ` +
        `${ms(ttfb, 0.5).padStart(8)}/${ms(ttfb, 1).padEnd(4)} ms ` +
        `${ms(hydrated, 0.5).padStart(9)}/${ms(hydrated, 1)} ms`,
    );
  }
} finally {
  await browser.close();
}
