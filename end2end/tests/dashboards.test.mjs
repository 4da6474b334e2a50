// End-to-end tests of the business dashboards (/dashboards): the demo business account sees
// every chart drawn with data and the top tables filled; filtering by dates and genre through
// the form shows what gold holds for that filter, checked against SQL over the marts; a
// table's CSV download follows the page's filter; a listener is refused the page.
// The fresh demo server publishes its marts on its first scheduled pipeline run; the tests
// trigger nothing themselves and wait for that run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import {
  launchBrowser, baseUrl, adminToken, adminFetch, demoAccounts, logIn, fetchFromPage,
  saveScreenshot, onFreshPage,
} from './browser.mjs';

const GOLD_WAIT_MS = Number(process.env.SOUNDLAKE_E2E_MODEL_WAIT_MS || 120_000);
const HYDRATE_MS = 30_000; // the first load compiles the wasm
const WAIT_MS = 15_000;
const POLL_MS = 2_000;
const NARROW_DAYS = 7; // the filtered range: the last week of the default one

const CHARTS = ['daily-activity', 'genre-mix', 'listening-heatmap', 'weekly-listeners'];
const TOP_TABLES = ['top-tracks', 'top-artists', 'top-genres'];
const LOADED = 'section.dashboards #weekly-listeners[data-drawn="true"]';

let browser;
before(async () => {
  // Fail fast with a clear message when the server, a credential or the database is missing.
  baseUrl();
  adminToken();
  demoAccounts();
  databaseUrl();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// --- SQL over the server's gold database -------------------------------------------------

function databaseUrl() {
  const url = process.env.SOUNDLAKE_E2E_DATABASE_URL;
  if (!url) {
    throw new Error(
      'SOUNDLAKE_E2E_DATABASE_URL is not set: `./dev.sh test` sets it; against your own ' +
        'server, set it to the postgres:// URL of its database',
    );
  }
  return url;
}

// The psql client: the one dev.sh names, else the newest PostgreSQL's, else the PATH's.
function psqlPath() {
  if (process.env.SOUNDLAKE_E2E_PSQL) return process.env.SOUNDLAKE_E2E_PSQL;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(`${root}/${v}/bin/psql`))
    : [];
  versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return versions.length > 0 ? `${root}/${versions.at(-1)}/bin/psql` : 'psql';
}

// The rows a query answers, each as its columns' text (NULL as '').
function sql(query) {
  let out;
  try {
    out = execFileSync(
      psqlPath(),
      ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', databaseUrl(), '-c', query],
      { encoding: 'utf8' },
    );
  } catch (err) {
    throw new Error(`psql failed on ${query}: ${err.stderr || err.message}`, { cause: err });
  }
  return out.split('\n').filter((line) => line !== '').map((line) => line.split('|'));
}

// SQL literals: dates are checked to be YYYY-MM-DD, text has its quotes doubled.
function dateLit(day) {
  assert.match(day, /^\d{4}-\d\d-\d\d$/, `"${day}" is no date`);
  return `DATE '${day}'`;
}
const textLit = (text) => `'${String(text).replaceAll("'", "''")}'`;

// --- The page's figures ------------------------------------------------------------------

// As the app's format_count writes a count: thousands separated by commas.
const formatCount = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const parseCount = (text) => Number(text.replaceAll(',', ''));

const DAY = String.raw`(\d{4}-\d\d-\d\d)`;
const SUMMARY = new RegExp(
  String.raw`^([\d,]+) listens from ${DAY} to ${DAY}(?: in (.+))?: at most ([\d,]+) ` +
    String.raw`listeners a day, (\d+\.\d)% of listens skipped\. ` +
    String.raw`Gold holds listens from ${DAY} to ${DAY}\.$`,
);

// The summary line under the filter, parsed.
async function summary(page) {
  const text = (await page.textContent('#dashboard-summary')).replace(/\s+/g, ' ').trim();
  const m = SUMMARY.exec(text);
  assert.ok(m, `the summary reads "${text}"`);
  return {
    text,
    listens: parseCount(m[1]),
    from: m[2],
    to: m[3],
    genre: m[4] ?? null,
    peakListeners: parseCount(m[5]),
    skipPercent: Number(m[6]),
    goldFirst: m[7],
    goldLast: m[8],
  };
}

// A top table's rows as [id, listens as shown].
const tableRows = (page, id) => page.$$eval(`table#${id} tbody tr[data-id]`,
  (trs) => trs.map((tr) => [tr.dataset.id, tr.cells[2].textContent.trim()]));

// Once hydrated, ECharts draws each chart into its box: waits for the chart and its canvas
// and answers the chart's series and category axis as drawn.
async function drawn(page, id) {
  const handle = await page.waitForFunction((el) => {
    const chart = globalThis.echarts?.getInstanceByDom(document.getElementById(el));
    if (!chart || !document.querySelector(`#${el} canvas`)) return null;
    const option = chart.getOption();
    return { series: option.series ?? [], xAxis: option.xAxis?.[0]?.data ?? [] };
  }, id, { timeout: HYDRATE_MS });
  return handle.jsonValue();
}

function assertHasData(id, option) {
  assert.ok(option.series.length > 0, `the chart ${id} has no series`);
  for (const s of option.series) {
    assert.ok(Array.isArray(s.data) && s.data.length > 0,
      `the series "${s.name}" of the chart ${id} has no data`);
  }
}

// --- Waiting for gold --------------------------------------------------------------------

// Resolves once the marts are published (the daily figures answer a day or more), polling
// for up to GOLD_WAIT_MS; shared by the tests.
let goldReady;
function goldPublished() {
  goldReady ??= (async () => {
    const deadline = Date.now() + GOLD_WAIT_MS;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      try {
        const res = await adminFetch('/api/v1/stats/daily');
        const body = await res.json().catch(() => null);
        if (res.status === 200 && Array.isArray(body) && body.length > 0) return;
        last = `/api/v1/stats/daily answered ${res.status} with ${JSON.stringify(body)}`;
      } catch (err) {
        last = String(err);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`no marts were published within ${GOLD_WAIT_MS / 1000} s (${last})`);
  })();
  return goldReady;
}

// A test on a fresh page; saves a screenshot on failure.
function pageTest(name, body) {
  test(name, { timeout: GOLD_WAIT_MS + 120_000 }, async () => {
    await onFreshPage(browser, name, WAIT_MS, body);
  });
}

// The business account's dashboards in their default view, hydrated, once gold has data.
async function openDashboards(page) {
  await goldPublished();
  await logIn(page, 'business');
  await page.waitForSelector(LOADED, { timeout: HYDRATE_MS });
  const alerts = await page.$$eval('main [role="alert"]', (els) => els.map((el) => el.textContent.trim()));
  assert.deepEqual(alerts, [], 'the dashboards show an error');
}

// The day `days` days before `day` (both YYYY-MM-DD, UTC).
function daysBefore(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - days);
  return date.toISOString().slice(0, 10);
}

// --- The tests ---------------------------------------------------------------------------

pageTest('a business user sees every dashboard chart drawn with data', async (page) => {
  await openDashboards(page);
  for (const id of CHARTS) assertHasData(id, await drawn(page, id));

  // The heatmap's cells are [hour, weekday, listens].
  const heat = await drawn(page, 'listening-heatmap');
  assert.equal(heat.series.length, 1);
  for (const [hour, weekday, listens] of heat.series[0].data) {
    assert.ok(hour >= 0 && hour <= 23 && weekday >= 0 && weekday <= 6 && listens > 0,
      `a heatmap cell is [${hour}, ${weekday}, ${listens}]`);
  }
  assert.deepEqual((await drawn(page, 'daily-activity')).series.map((s) => s.name),
    ['listens', 'listeners', 'skip rate %']);
  assert.deepEqual((await drawn(page, 'weekly-listeners')).series.map((s) => s.name),
    ['new', 'returning']);

  for (const id of TOP_TABLES) {
    assert.ok((await tableRows(page, id)).length > 0, `the table ${id} has no rows`);
  }
  assert.ok(await page.locator('table#cohorts tr[data-cohort]').count() > 0,
    'the cohort table has no rows');

  // The default view is the last four weeks up to the newest day gold holds, and its total
  // is what gold holds for them.
  const shown = await summary(page);
  assert.equal(shown.genre, null, 'the default view is of every genre');
  assert.equal(shown.to, shown.goldLast, 'the default range ends on the newest day with listens');
  assert.equal(await page.inputValue('#filter-from'), shown.from);
  assert.equal(await page.inputValue('#filter-to'), shown.to);
  assert.equal(await page.inputValue('#filter-genre'), '');
  const [[total]] = sql(
    `SELECT coalesce(sum(listens), 0) FROM daily_activity
     WHERE day BETWEEN ${dateLit(shown.from)} AND ${dateLit(shown.to)}`,
  );
  assert.equal(shown.listens, Number(total), `the summary reads "${shown.text}"`);
  await saveScreenshot(page, 'dashboards');
});

pageTest('filtering by dates and genre shows what gold holds for that filter', async (page) => {
  await openDashboards(page);
  const unfiltered = await summary(page);
  const unfilteredDaily = (await drawn(page, 'daily-activity')).series[0].data;

  // A narrower range inside the data, and the most listened genre of the default view.
  const to = await page.inputValue('#filter-to');
  const defaultFrom = await page.inputValue('#filter-from');
  const narrowFrom = daysBefore(to, NARROW_DAYS - 1);
  const from = narrowFrom > defaultFrom ? narrowFrom : defaultFrom;
  const genre = await page.getAttribute('table#top-genres tbody tr[data-id]', 'data-id');
  assert.ok(genre, 'the top genres table names a genre');

  await page.fill('#filter-from', from);
  await page.fill('#filter-to', to);
  await page.selectOption('#filter-genre', genre);
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/dashboards' && url.searchParams.get('genre') === genre),
    page.click('#dashboard-filter button[type="submit"]'),
  ]);
  // The view is in the address.
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('from'), from);
  assert.equal(url.searchParams.get('to'), to);
  await page.waitForSelector(LOADED, { timeout: HYDRATE_MS });
  await page.waitForFunction((g) => (document.querySelector('#dashboard-summary')?.textContent ?? '')
    .includes(` in ${g}:`), genre);

  // The form keeps the filter.
  assert.equal(await page.inputValue('#filter-from'), from);
  assert.equal(await page.inputValue('#filter-to'), to);
  assert.equal(await page.inputValue('#filter-genre'), genre);

  const range = `day BETWEEN ${dateLit(from)} AND ${dateLit(to)} AND genre = ${textLit(genre)}`;

  // The summary: the listens, the busiest day's listeners and the share skipped.
  const shown = await summary(page);
  assert.deepEqual([shown.from, shown.to, shown.genre], [from, to, genre], shown.text);
  const [[listens, peak, skips]] = sql(
    `SELECT coalesce(sum(listens), 0), coalesce(max(listeners), 0), coalesce(sum(skips), 0)
     FROM genre_daily WHERE ${range}`,
  );
  assert.equal(shown.listens, Number(listens), `the summary reads "${shown.text}"`);
  assert.equal(shown.peakListeners, Number(peak), `the summary reads "${shown.text}"`);
  const skipPercent = Number(listens) > 0 ? (100 * Number(skips)) / Number(listens) : 0;
  // Within the one decimal shown.
  assert.ok(Math.abs(shown.skipPercent - skipPercent) <= 0.051,
    `the summary reads "${shown.text}", gold holds ${skipPercent}% skipped`);

  // The numbers changed from the unfiltered view's.
  assert.ok(shown.listens < unfiltered.listens,
    `the filtered total ${shown.listens} is not below the unfiltered ${unfiltered.listens}`);

  // The daily chart: the listens of each day of the range in the genre.
  const perDay = sql(
    `SELECT to_char(day, 'YYYY-MM-DD'), sum(listens) FROM genre_daily
     WHERE ${range} GROUP BY day ORDER BY day`,
  );
  assert.ok(perDay.length > 0, `gold holds no listens of ${genre} from ${from} to ${to}`);
  const daily = await drawn(page, 'daily-activity');
  assertHasData('daily-activity', daily);
  assert.deepEqual(daily.xAxis, perDay.map(([day]) => day), 'the daily chart\'s days');
  assert.deepEqual(daily.series[0].data.map(Number), perDay.map(([, n]) => Number(n)),
    'the daily chart\'s listens');
  assert.notDeepEqual(daily.series[0].data, unfilteredDaily, 'the daily chart did not change');

  // The genre mix shows just the genre asked for; the other charts still have data.
  const mix = await drawn(page, 'genre-mix');
  assert.deepEqual(mix.series.map((s) => s.name), [genre]);
  for (const id of CHARTS) assertHasData(id, await drawn(page, id));

  // The top tracks: the most listened tracks of the genre in the range, ties to the smaller id.
  const topTracks = sql(
    `SELECT track_id, sum(listens) FROM track_daily WHERE ${range}
     GROUP BY track_id ORDER BY 2 DESC, 1 LIMIT 10`,
  );
  assert.ok(topTracks.length > 0, `gold holds no tracks of ${genre} from ${from} to ${to}`);
  assert.deepEqual(await tableRows(page, 'top-tracks'),
    topTracks.map(([id, n]) => [id, formatCount(Number(n))]));
  // The top genres: just the genre, with the filtered total.
  assert.deepEqual(await tableRows(page, 'top-genres'), [[genre, formatCount(shown.listens)]]);
});

pageTest('a top table downloads as CSV with the page\'s filter', async (page) => {
  await openDashboards(page);
  const shown = await summary(page);
  const ids = (await tableRows(page, 'top-tracks')).map(([id]) => id);
  assert.ok(ids.length > 0, 'the top tracks table has no rows');

  const href = await page.getAttribute('#top-tracks ~ .downloads a', 'href');
  assert.ok(href, 'the top tracks table has no download link');
  assert.equal((await page.textContent('#top-tracks ~ .downloads a')).trim(), 'Download CSV');
  const link = new URL(href, baseUrl());
  assert.equal(link.pathname, '/api/v1/stats/top');
  assert.equal(link.searchParams.get('kind'), 'track');
  assert.equal(link.searchParams.get('format'), 'csv');
  assert.equal(link.searchParams.get('from'), shown.from);
  assert.equal(link.searchParams.get('to'), shown.to);

  // Fetched with the browser's session, as a click would.
  const res = await page.request.get(link.href);
  assert.equal(res.status(), 200, await res.text());
  assert.match(res.headers()['content-type'] ?? '', /^text\/csv/);
  const lines = (await res.text()).split(/\r?\n/).filter((line) => line !== '');
  assert.equal(lines[0], 'id,name,detail,listens');
  // A line per row of the table, in its order (track ids hold no commas or quotes).
  assert.deepEqual(lines.slice(1).map((line) => line.split(',')[0]), ids);
});

pageTest('a listener is refused the dashboards', async (page) => {
  await logIn(page, 'listener');
  const res = await page.goto(`${baseUrl()}/dashboards`);
  assert.equal(res.status(), 403, 'the listener opened /dashboards');
  // The figures behind the page are refused too.
  const api = await fetchFromPage(page, '/api/v1/stats/daily');
  assert.equal(api.status, 403, `the listener read the daily figures: ${JSON.stringify(api.body)}`);
});
