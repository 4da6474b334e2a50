// End-to-end tests of the admin page (/admin): the runs table rendered on the server, and
// the hydrated run button: a wrong token is refused with the API's reason; the right one
// starts a run whose progress the page follows until it finishes and shows in the table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, baseUrl, onFreshPage } from './browser.mjs';

const HYDRATE_MS = 30_000; // the first load compiles the wasm
const WAIT_MS = 15_000;
const RUN_MS = 180_000; // a run trains the recommenders: allow for a slow machine

function adminToken() {
  const token = process.env.SOUNDLAKE_E2E_ADMIN_TOKEN;
  if (!token) {
    throw new Error(
      'SOUNDLAKE_E2E_ADMIN_TOKEN is not set: `./dev.sh test` sets it; against your own ' +
        'server, set it to the server\'s admin token (<data dir>/admin-token)',
    );
  }
  return token;
}

let browser;
before(async () => {
  baseUrl();
  adminToken();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// `body(page)` on a fresh, hydrated /admin page.
function onAdminPage(name, body) {
  return onFreshPage(browser, name, WAIT_MS, async (page) => {
    await page.goto(`${baseUrl()}/admin`);
    await page.waitForSelector('section.admin[data-hydrated="true"]', { timeout: HYDRATE_MS });
    await body(page);
  });
}

const message = (page) =>
  page.evaluate(() => document.querySelector('#run-message')?.textContent ?? '');

// Submits the form with `token` (and the full-rebuild switch) and returns the page's answer
// to the API's answer.
async function submit(page, token, { full = false } = {}) {
  await page.waitForSelector('#run-pipeline button[type="submit"]:not([disabled])');
  await page.fill('#admin-token', token);
  await page.setChecked('#full-rebuild', full);
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/pipeline/runs')
      && r.request().method() === 'POST'),
    page.click('#run-pipeline button[type="submit"]'),
  ]);
  // The click cleared the message; the answer sets it.
  await page.waitForFunction(() => (document.querySelector('#run-message')?.textContent ?? '') !== '');
  return message(page);
}

test('the admin page is rendered on the server', async () => {
  const res = await fetch(`${baseUrl()}/admin`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<h1>Pipeline<\/h1>/);
  assert.match(html, /id="admin-token"/);
  assert.match(html, /id="pipeline-runs"|No run yet\./);
});

test('a wrong admin token is refused with the reason', { timeout: 120_000 }, async () => {
  await onAdminPage('wrong token', async (page) => {
    const text = await submit(page, 'not-the-token');
    assert.match(text, /Could not start a run: the admin token is not valid/);
    assert.equal(await page.getAttribute('#run-message', 'class'), 'error');
  });
});

test('the run button starts a run and follows it to the end', { timeout: 2 * RUN_MS + 60_000 }, async () => {
  await onAdminPage('run button', async (page) => {
    // The demo's schedule may be running one: the page says so; try again until ours starts.
    // A full rebuild, so that every stage has work to do.
    const deadline = Date.now() + RUN_MS;
    let text = await submit(page, adminToken(), { full: true });
    while (!/Run #\d+ started/.test(text)) {
      assert.match(text, /in progress/, `unexpected answer: ${text}`);
      assert.ok(Date.now() < deadline, `no run could start: ${text}`);
      await page.waitForTimeout(2_000);
      text = await submit(page, adminToken(), { full: true });
    }
    const runId = text.match(/Run #(\d+)/)[1];
    await page.waitForFunction(
      (id) => new RegExp(`Run #${id} (succeeded|failed)`).test(
        document.querySelector('#run-message')?.textContent ?? ''),
      runId,
      { timeout: RUN_MS },
    );
    assert.match(await message(page), new RegExp(`Run #${runId} succeeded in `));
    // Followed stage by stage.
    const progress = await page.$$eval('#run-progress li', (items) => items.map((li) => li.textContent));
    // (the ML stage starts seconds after the run, long after the page subscribed)
    assert.ok(progress.some((line) => /^ml: (succeeded|skipped) in /.test(line)), progress.join(' | '));
    // The table reloads with the finished run and its stages.
    const row = `#pipeline-runs tr[data-run-id="${runId}"]`;
    await page.waitForSelector(`${row}[data-status="succeeded"]`);
    assert.equal((await page.textContent(`${row} td:nth-child(2)`)).trim(), 'api');
    const stages = await page.$$eval(`${row} li.stage`, (items) => items.map((li) => li.textContent));
    assert.ok(stages.some((line) => /^silver listens · succeeded · .* in → /.test(line)), stages.join(' | '));
  });
});
