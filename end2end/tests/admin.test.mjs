// End-to-end tests of the admin page (/admin): the runs table rendered on the server; a
// listener and a business account are refused the page and the run API; the signed-in
// admin's run button starts a run whose progress the page follows until it finishes and
// shows in the table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launchBrowser, baseUrl, adminToken, adminFetch, demoAccounts, logIn, fetchFromPage,
  onFreshPage,
} from './browser.mjs';

const HYDRATE_MS = 30_000; // the first load compiles the wasm
const WAIT_MS = 15_000;
const RUN_MS = 180_000; // a run trains the recommenders: allow for a slow machine

let browser;
before(async () => {
  // Fail fast with a clear message when the server or a credential is missing.
  baseUrl();
  adminToken();
  demoAccounts();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// `body(page)` on a fresh, hydrated /admin page of the signed-in demo admin.
function onAdminPage(name, body) {
  return onFreshPage(browser, name, WAIT_MS, async (page) => {
    await logIn(page, 'admin');
    await page.waitForSelector('section.admin #simulator[data-hydrated="true"]', { timeout: HYDRATE_MS });
    await body(page);
  });
}

const message = (page) =>
  page.evaluate(() => document.querySelector('#run-message')?.textContent ?? '');

// Submits the form (with the full-rebuild switch) and returns the page's answer to the API's
// answer.
async function submit(page, { full = false } = {}) {
  await page.waitForSelector('#run-pipeline button[type="submit"]:not([disabled])');
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
  const res = await adminFetch('/admin');
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<h1>Pipeline<\/h1>/);
  assert.match(html, /<form[^>]*id="run-pipeline"/);
  assert.match(html, /id="full-rebuild"/);
  // The signed-in admin starts runs: there is no token to type any more.
  assert.doesNotMatch(html, /id="admin-token"/);
  assert.match(html, /id="pipeline-runs"|No run yet\./);
});

test('nobody but an admin may start a run', { timeout: 120_000 }, async () => {
  // Without a credential the API asks for one.
  const anonymous = await fetch(`${baseUrl()}/api/v1/pipeline/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ full: false }),
  });
  assert.equal(anonymous.status, 401);

  for (const role of ['listener', 'business']) {
    await onFreshPage(browser, `admin refused to ${role}`, WAIT_MS, async (page) => {
      await logIn(page, role);
      const res = await page.goto(`${baseUrl()}/admin`);
      assert.equal(res.status(), 403, `the ${role} opened /admin`);
      assert.match(await page.textContent('h1'), /Not for this account/);

      // From that page the request carries the session and this site's Origin, so a
      // refusal is for the role (forbidden), not for a cross-site request.
      const run = await fetchFromPage(page, '/api/v1/pipeline/runs', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ full: false }),
      });
      assert.equal(run.status, 403, `the ${role}'s run request: ${JSON.stringify(run.body)}`);
      assert.equal(run.body?.error?.code, 'forbidden', JSON.stringify(run.body));
    });
  }
});

test('the run button starts a run and follows it to the end', { timeout: 2 * RUN_MS + 60_000 }, async () => {
  await onAdminPage('run button', async (page) => {
    // The demo's schedule may be running one: the page says so; try again until ours starts.
    // A full rebuild, so that every stage has work to do.
    const deadline = Date.now() + RUN_MS;
    let text = await submit(page, { full: true });
    while (!/Run #\d+ started/.test(text)) {
      assert.match(text, /in progress/, `unexpected answer: ${text}`);
      assert.ok(Date.now() < deadline, `no run could start: ${text}`);
      await page.waitForTimeout(2_000);
      text = await submit(page, { full: true });
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
