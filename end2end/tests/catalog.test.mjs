// End-to-end tests of the catalogue page: server rendering, then the hydrated
// WASM app filtering and paging the generated demo catalogue in place.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, baseUrl, onFreshPage } from './browser.mjs';

const HYDRATE_MS = 30_000; // the first load compiles the wasm
const WAIT_MS = 15_000;

let browser;
before(async () => {
  baseUrl(); // fail fast with a clear message when the server URL is missing
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// A test on a fresh, hydrated /catalog page; saves a screenshot on failure.
function pageTest(name, body) {
  test(name, { timeout: 120_000 }, async () => {
    await onFreshPage(browser, name, WAIT_MS, async (page) => {
      await page.goto(`${baseUrl()}/catalog`);
      await page.waitForSelector('section.catalog[data-hydrated="true"]', { timeout: HYDRATE_MS });
      await body(page);
    });
  });
}

// Waits until `fn(arg)` is truthy in the page; on timeout says what it waited for.
async function waitUntil(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT_MS });
  } catch (err) {
    const count = await page.textContent('#catalog-count').catch(() => '?');
    throw new Error(`timed out waiting for ${what} (count now "${count}")`, { cause: err });
  }
}

const countText = async (page) => (await page.textContent('#catalog-count')).trim();
const countOf = (text) => Number(text.replace(/\D/g, ''));
const rows = (page) => page.locator('#catalog-results tbody tr.track-row');
const markPage = (page) => page.evaluate(() => { window.__noReload = 'marker'; });
const stillSamePage = (page) => page.evaluate(() => window.__noReload);

test('the catalogue page is rendered on the server', async () => {
  const res = await fetch(`${baseUrl()}/catalog`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /id="catalog-results"/);
  assert.match(html, /track-row/);
  assert.match(html, /id="catalog-count"/);
});

pageTest('typing a search updates the results without reloading', async (page) => {
  await markPage(page);
  const initialText = await countText(page);
  const initial = countOf(initialText);
  const artists = await rows(page).first().locator('td.track-artists').textContent();
  const term = artists.split(', ')[0].trim();
  assert.ok(term, 'the first row shows an artist to search for');

  await page.fill('#catalog-search', term);
  await waitUntil(page, `results matching "${term}"`, ({ initialText, term }) => {
    const count = document.querySelector('#catalog-count')?.textContent.trim();
    const trs = [...document.querySelectorAll('#catalog-results tbody tr.track-row')];
    return count !== initialText && trs.length > 0 &&
      trs.every((tr) => [...tr.querySelectorAll('td.track-name, td.track-artists, td.track-album')]
        .map((td) => td.textContent).join(' | ').toLowerCase().includes(term.toLowerCase()));
  }, { initialText, term });

  const found = countOf(await countText(page));
  assert.ok(found > 0 && found < initial, `expected 0 < ${found} < ${initial}`);
  for (const row of await rows(page).all()) {
    const cells = await row.locator('td.track-name, td.track-artists, td.track-album').allTextContents();
    const text = cells.join(' | ').toLowerCase();
    assert.ok(text.includes(term.toLowerCase()), `row "${text}" does not contain "${term}"`);
  }
  assert.equal(await stillSamePage(page), 'marker', 'the page was reloaded');
  assert.equal(new URL(page.url()).pathname, '/catalog');
});

pageTest('a search with no match shows zero tracks', async (page) => {
  await page.fill('#catalog-search', 'zzzz-no-such-track-qqq');
  await waitUntil(page, '"0 tracks"', () =>
    document.querySelector('#catalog-count')?.textContent.trim() === '0 tracks');
  await rows(page).first().waitFor({ state: 'detached' });
  assert.equal(await rows(page).count(), 0);
});

pageTest('choosing a genre filters the results', async (page) => {
  await markPage(page);
  const initialText = await countText(page);
  const genre = await page.locator('#catalog-genre option').nth(1).getAttribute('value');
  assert.ok(genre, 'the genre list has at least one genre');

  await page.selectOption('#catalog-genre', genre);
  await waitUntil(page, `results of genre "${genre}"`, ({ initialText, genre }) => {
    const count = document.querySelector('#catalog-count')?.textContent.trim();
    const trs = [...document.querySelectorAll('#catalog-results tbody tr.track-row')];
    return count !== initialText && trs.length > 0 && trs.every((tr) =>
      [...tr.querySelectorAll('td.genres span.chip')].some((c) => c.textContent.trim() === genre));
  }, { initialText, genre });

  assert.ok(countOf(await countText(page)) > 0);
  for (const row of await rows(page).all()) {
    const chips = (await row.locator('td.genres span.chip').allTextContents()).map((c) => c.trim());
    assert.ok(chips.includes(genre), `row genres [${chips}] do not include "${genre}"`);
  }
  assert.equal(await stillSamePage(page), 'marker', 'the page was reloaded');
});

pageTest('the pager moves to the next page', async (page) => {
  await markPage(page);
  const firstRow = await rows(page).first().textContent();

  await page.click('#catalog-next');
  await waitUntil(page, 'page 2 with other rows', (firstRow) =>
    [...document.querySelectorAll('span')].some((s) => s.textContent.includes('Page 2 of')) &&
    document.querySelector('#catalog-results tbody tr.track-row')?.textContent !== firstRow,
  firstRow);

  assert.notEqual(await rows(page).first().textContent(), firstRow);
  assert.equal(await stillSamePage(page), 'marker', 'the page was reloaded');
});
