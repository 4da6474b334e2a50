// Accessibility: axe-core (npm) checks each main page, as the role that uses it sees it once
// hydrated, against WCAG 2.1 A and AA (labels, names, contrast, structure) and finds no
// serious or critical violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { baseUrl, demoAccounts, launchBrowser, logIn, onFreshPage } from './browser.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const WAIT_MS = 30_000; // the first load compiles the wasm

// Each page with the role that opens it (null: anonymous) and what shows it has its content.
const PAGES = [
  { path: '/', role: null, ready: 'main' },
  { path: '/login', role: null, ready: 'form.login-form' },
  { path: '/catalog', role: null, ready: 'section.catalog[data-hydrated="true"]' },
  { path: '/for-you', role: 'listener', ready: 'section.for-you .live-list[data-live="true"]' },
  { path: '/dashboards', role: 'business', ready: 'section.dashboards #weekly-listeners[data-drawn="true"]' },
  { path: '/insights', role: 'business', ready: 'section.insights' },
  { path: '/admin', role: 'admin', ready: 'section.admin #simulator[data-hydrated="true"]' },
];

let browser;
before(async () => {
  baseUrl();
  demoAccounts();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// The serious and critical violations axe finds on the page, one line each.
async function violations(page) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
  return found
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.targets.join(', ')}`);
}

for (const { path, role, ready } of PAGES) {
  test(`${path} has no serious accessibility violation${role ? ` (${role})` : ''}`, { timeout: 120_000 }, async () => {
    await onFreshPage(browser, `axe${path}`, WAIT_MS, async (page) => {
      if (role) await logIn(page, role);
      await page.goto(`${baseUrl()}${path}`);
      await page.waitForSelector(ready);
      const found = await violations(page);
      assert.deepEqual(found, [], `axe on ${path}:\n${found.join('\n')}`);
    });
  });
}
