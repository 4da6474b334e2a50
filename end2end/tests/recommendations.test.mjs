// End-to-end tests of the listener's page (/for-you: server rendering, then the hydrated
// app following the live list over server-sent events) and the business page (/insights).
// The browser tests log in as the demo listener and the demo business account; the API is
// polled with the admin token. The fresh demo server trains its first model on its first
// scheduled pipeline run; the tests trigger nothing themselves and wait for that model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launchBrowser, baseUrl, adminToken, adminFetch, demoAccounts, logIn, fetchFromPage,
  onFreshPage,
} from './browser.mjs';

const MODEL_WAIT_MS = Number(process.env.SOUNDLAKE_E2E_MODEL_WAIT_MS || 120_000);
const HYDRATE_MS = 30_000; // the first load compiles the wasm
const WAIT_MS = 15_000;
const RERANK_MS = 2_000; // a play re-ranks the followed list within a second
const POLL_MS = 2_000;
const LISTENER = 'user-00001'; // the simulated listener the demo listener account is linked to

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

// An API answer as an admin (the model, clusters and any listener's list need a role).
async function getJson(path) {
  const res = await adminFetch(path);
  return { status: res.status, body: await res.json().catch(() => null) };
}

// Resolves to a listener with recommendations once a model version is current (polling
// /api/v1/models, then the listener's list, for up to MODEL_WAIT_MS); shared by the tests.
let modelReady;
function listenerWithRecommendations() {
  modelReady ??= (async () => {
    const deadline = Date.now() + MODEL_WAIT_MS;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      try {
        const models = await getJson('/api/v1/models');
        if (models.status === 200 && models.body?.items?.some((v) => v.is_current)) {
          const list = await getJson(`/api/v1/users/${LISTENER}/recommendations`);
          if (list.status === 200 && list.body?.items?.length > 0) return LISTENER;
          last = `the recommendations of ${LISTENER} answered ${list.status}`;
        } else {
          last = `/api/v1/models answered ${models.status} with no current model`;
        }
      } catch (err) {
        last = String(err);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`no model was trained within ${MODEL_WAIT_MS / 1000} s (${last})`);
  })();
  return modelReady;
}

// A test on a fresh page; saves a screenshot on failure.
function pageTest(name, body) {
  test(name, { timeout: MODEL_WAIT_MS + 120_000 }, async () => {
    await onFreshPage(browser, name, WAIT_MS, body);
  });
}

const markPage = (page) => page.evaluate(() => { window.__noReload = 'marker'; });
const stillSamePage = (page) => page.evaluate(() => window.__noReload);
const listedIds = (page) => page.$$eval('#recommendations li[data-track-id]',
  (lis) => lis.map((li) => li.dataset.trackId));

// An admin (here by the admin token) may open every page, and any listener's list.
test('the for-you and insights pages are rendered on the server',
  { timeout: MODEL_WAIT_MS + 30_000 }, async () => {
    const user = await listenerWithRecommendations();
    const forYou = await adminFetch(`/for-you?user=${user}`);
    assert.equal(forYou.status, 200);
    const html = await forYou.text();
    assert.match(html, /<ol[^>]*id="recommendations"/);
    assert.match(html, /<li[^>]*data-track-id="/);
    assert.match(html, /updated \d\d:\d\d:\d\d/);
    assert.doesNotMatch(html, /echarts\.min\.js/, 'a page without charts does not load ECharts');

    const insights = await adminFetch('/insights');
    assert.equal(insights.status, 200);
    const text = await insights.text();
    assert.match(text, /id="model-metrics"/);
    assert.match(text, /data-model="/);
    assert.match(text, /id="list-diversity"/);
    assert.match(text, /Novelty/);
    assert.match(text, /<div[^>]*id="track-map"/);
    assert.match(text, /<script[^>]* src="\/pkg\/echarts.min.js"/);
  });

pageTest('playing a recommendation re-ranks the list live', async (page) => {
  const user = await listenerWithRecommendations();
  // The listener lands on their own list: no ?user= to pass, and no other listener to pick.
  await logIn(page, 'listener');
  const session = await fetchFromPage(page, '/api/v1/session');
  assert.equal(session.status, 200, `the session answered ${JSON.stringify(session.body)}`);
  assert.equal(session.body.listener_id, user, `the demo listener account is linked to ${user}`);
  await page.waitForSelector('section.for-you .live-list[data-live="true"]', { timeout: HYDRATE_MS });
  await page.waitForSelector('#recommendations li[data-track-id]');
  assert.equal(await page.locator('#for-you-user').count(), 0,
    'the listener search is for admins only');
  await markPage(page);
  const listed = await listedIds(page);
  const played = listed[0];
  assert.ok(played, 'the list shows a track to play');
  assert.match(await page.textContent('#recommendations-updated'), /updated \d\d:\d\d:\d\d/);

  await page.click(`#recommendations li[data-track-id="${played}"] button.play`);
  try {
    await page.waitForFunction((id) => {
      const ids = [...document.querySelectorAll('#recommendations li[data-track-id]')]
        .map((li) => li.dataset.trackId);
      return ids.length > 0 && !ids.includes(id);
    }, played, { timeout: RERANK_MS });
  } catch (err) {
    const notice = await page.textContent('.for-you .error').catch(() => 'none');
    throw new Error(
      `track ${played} was still listed ${RERANK_MS} ms after Play (notice: ${notice})`,
      { cause: err },
    );
  }

  const relisted = await listedIds(page);
  assert.ok(relisted.length > 0, 'the re-ranked list is not empty');
  assert.ok(!relisted.includes(played), `the played track ${played} left the list`);
  assert.equal(await page.getAttribute('section.for-you .live-list', 'data-live'), 'true');
  assert.equal(await stillSamePage(page), 'marker', 'the page was reloaded');
});

pageTest('the insights page shows the model figures, the clusters, the map and the segments', async (page) => {
  await listenerWithRecommendations();
  const { body: models } = await getJson('/api/v1/models');
  const current = models.items.find((v) => v.is_current);
  const { body: clusters } = await getJson('/api/v1/clusters');

  // The business account lands on /dashboards; /insights is its second page.
  await logIn(page, 'business');
  await page.goto(`${baseUrl()}/insights`);
  await page.waitForSelector('#model-metrics tbody tr[data-model]');
  const rows = await page.$$eval('#model-metrics tbody tr[data-model]', (trs) => trs.map((tr) => ({
    model: tr.dataset.model,
    chosen: tr.classList.contains('chosen'),
    cells: [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()),
  })));
  const chosen = rows.filter((r) => r.chosen);
  assert.equal(chosen.length, 1, `one chosen family among ${rows.map((r) => r.model)}`);
  const shown = rows.find((r) => r.model === 'hybrid') ?? chosen[0];
  const ndcg = Number(shown.cells[1]);
  assert.ok(ndcg >= 0 && ndcg <= 1, `NDCG@10 of ${shown.model} is "${shown.cells[1]}"`);
  // The page may show a newer version than the API answered a moment ago; the chosen family
  // is the current version's model unless a run finished in between.
  if (current && rows.length === current.metrics.length) {
    assert.ok(rows.some((r) => r.model === current.model), `a row for ${current.model}`);
  }

  // Once hydrated, ECharts draws each chart from the page's data.
  const drawn = (id) => page.waitForFunction((el) => {
    const chart = globalThis.echarts?.getInstanceByDom(document.getElementById(el));
    return chart && document.querySelector(`#${el} canvas`) ? chart.getOption().series : null;
  }, id, { timeout: HYDRATE_MS }).then((handle) => handle.jsonValue());
  const figures = await drawn('model-figures');
  assert.deepEqual(figures.map((s) => s.data.length), [rows.length, rows.length, rows.length]);
  if (clusters?.clusters?.length > 0) {
    const sizes = await drawn('cluster-sizes');
    assert.equal(sizes[0].data.length, clusters.clusters.length, 'a bar per cluster');
    assert.ok(await page.locator('#k-scores tbody tr').count() > 0, 'the k tried are listed');
  }

  // The clusters and their map are published before the first model, the listener segments
  // just after each model version.
  const map = await drawn('track-map');
  const dots = map.reduce((n, s) => n + s.data.length, 0);
  assert.ok(dots > 100, `the track map shows ${dots} tracks`);
  const segments = await page.locator('#segments tbody tr').count();
  assert.ok(segments >= 1, `${segments} listener segments are listed`);
});
