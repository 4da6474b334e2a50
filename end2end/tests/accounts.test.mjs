// End-to-end tests of the accounts: each demo account logs in on /login, lands on its role's
// page with its name and links in the nav, and logs out; a wrong password is refused; an
// anonymous visitor is sent to the login page from the role pages, and back to the page
// asked for once logged in. Saves screenshots of the login page and of each role's page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launchBrowser, baseUrl, demoAccounts, account, HOME, logIn, submitLogin, fetchFromPage,
  saveScreenshot, onFreshPage,
} from './browser.mjs';

const HYDRATE_MS = 30_000; // the first load compiles the wasm
const WAIT_MS = 15_000;
const SESSION_COOKIE = 'soundlake_session';

// The nav's links of each role, after the public catalogue.
const NAV_LINKS = {
  listener: ['Catalogue', 'For you'],
  business: ['Catalogue', 'Dashboards', 'Insights'],
  admin: ['Catalogue', 'For you', 'Dashboards', 'Insights', 'Pipeline'],
};

// What shows each role's page has loaded its content, to screenshot it whole.
const LOADED = {
  listener: '#recommendations',
  business: 'section.dashboards #weekly-listeners[data-drawn="true"]',
  admin: 'section.admin #simulator[data-hydrated="true"]',
};

// Screenshots are named after the page.
const SCREENSHOT = { listener: 'for-you', business: 'dashboards', admin: 'admin' };

let browser;
before(async () => {
  // Fail fast with a clear message when the server or the accounts file is missing.
  baseUrl();
  demoAccounts();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// A test on a fresh page (a browser context of its own); saves a screenshot on failure.
function pageTest(name, body) {
  test(name, { timeout: 120_000 }, async () => {
    await onFreshPage(browser, name, WAIT_MS, body);
  });
}

const navLinks = (page) => page.$$eval('header.topbar nav a', (as) => as.map((a) => a.textContent.trim()));
const pathOf = (page) => new URL(page.url()).pathname;

// The session the page's browser holds, as the API answers for it.
const session = (page) => fetchFromPage(page, '/api/v1/session');

pageTest('the login page is served to anyone', async (page) => {
  const res = await page.goto(`${baseUrl()}/login`);
  assert.equal(res.status(), 200);
  await page.waitForSelector('form.login-form[method="post"][action="/auth/login"]');
  assert.equal(await page.locator('#login-name').count(), 1);
  assert.equal(await page.locator('#login-password[type="password"]').count(), 1);
  assert.equal(await page.locator('#login-error').count(), 0, 'no error before any attempt');
  await page.waitForSelector('header.topbar nav a[href="/login"]');
  assert.equal(await page.locator('header.topbar nav .account').count(), 0);
  assert.equal((await session(page)).status, 401);
  await saveScreenshot(page, 'login');
});

for (const role of Object.keys(HOME)) {
  pageTest(`the ${role} logs in on ${HOME[role]} and logs out`, async (page) => {
    const { name } = account(role);
    await logIn(page, role);
    assert.equal(pathOf(page), HOME[role]);

    // The nav names the account and links the role's pages.
    await page.waitForSelector('header.topbar nav .account');
    assert.equal((await page.textContent('header.topbar nav .account')).trim(), name);
    assert.deepEqual(await navLinks(page), NAV_LINKS[role]);
    const me = await session(page);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.name, name);
    assert.equal(me.body.role, role);
    assert.equal(me.body.home, HOME[role]);

    // The page loaded its content for this account: no refusal or failure shown.
    // (attached, not visible: the list is empty until a model is trained)
    await page.waitForSelector(LOADED[role], { state: 'attached', timeout: HYDRATE_MS });
    const alerts = await page.$$eval('main [role="alert"]', (els) => els.map((el) => el.textContent.trim()));
    assert.deepEqual(alerts, [], `the ${role}'s page shows an error`);
    await saveScreenshot(page, SCREENSHOT[role]);

    // Logging out ends the session on the server, not just in this browser.
    const cookie = (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie?.value, 'the login set the session cookie');
    assert.ok(cookie.httpOnly, 'the session cookie is HttpOnly');
    const sessionBy = (value) => fetch(`${baseUrl()}/api/v1/session`, {
      headers: { Cookie: `${SESSION_COOKIE}=${value}` },
    });
    assert.equal((await sessionBy(cookie.value)).status, 200, 'the cookie sent by hand is a session');
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/login'),
      page.click('header.topbar nav form.logout button[type="submit"]'),
    ]);
    await page.waitForSelector('header.topbar nav a[href="/login"]');
    assert.equal(await page.locator('header.topbar nav .account').count(), 0);
    assert.equal((await session(page)).status, 401, 'the browser is still signed in');
    assert.equal((await sessionBy(cookie.value)).status, 401, 'the ended session still works');

    await page.goto(`${baseUrl()}${HOME[role]}`);
    const landed = new URL(page.url());
    assert.equal(landed.pathname, '/login', `after logout ${HOME[role]} opened`);
    assert.equal(landed.searchParams.get('next'), HOME[role]);
  });
}

// On the business account, not the listener's: failed attempts slow that account's logins.
pageTest('a wrong password is refused on the login page', async (page) => {
  const { name, password } = account('business');
  await page.goto(`${baseUrl()}/login`);
  await submitLogin(page, name, `${password}-wrong`);
  const landed = new URL(page.url());
  assert.equal(landed.pathname, '/login');
  assert.equal(landed.searchParams.get('error'), 'refused');
  assert.equal((await page.textContent('#login-error')).trim(), 'Wrong name or password.');
  assert.equal((await session(page)).status, 401, 'a refused login started a session');
  assert.equal((await page.context().cookies()).some((c) => c.name === SESSION_COOKIE), false);

  // The right password still gets in (and clears the failed attempt).
  await logIn(page, 'business');
});

test('an anonymous visitor is sent to the login page; the catalogue is public', async () => {
  for (const path of Object.values(HOME)) {
    const res = await fetch(`${baseUrl()}${path}`, { redirect: 'manual' });
    assert.equal(res.status, 303, `${path} answered ${res.status}`);
    const target = new URL(res.headers.get('location') ?? '', baseUrl());
    assert.equal(target.pathname, '/login', `${path} redirected to ${target}`);
    assert.equal(target.searchParams.get('next'), path);
  }
  for (const path of ['/', '/catalog', '/login']) {
    const res = await fetch(`${baseUrl()}${path}`, { redirect: 'manual' });
    assert.equal(res.status, 200, `${path} answered ${res.status}`);
  }
  // The API asks for a credential the same way.
  for (const path of ['/api/v1/models', '/api/v1/session']) {
    const res = await fetch(`${baseUrl()}${path}`);
    assert.equal(res.status, 401, `${path} answered ${res.status}`);
  }
});

pageTest('logging in from a refused page goes back to that page', async (page) => {
  // The admin's own page is /admin: landing on /insights shows the page asked for was kept.
  await page.goto(`${baseUrl()}/insights`);
  const asked = new URL(page.url());
  assert.equal(asked.pathname, '/login');
  assert.equal(asked.searchParams.get('next'), '/insights');
  const { name, password } = account('admin');
  await submitLogin(page, name, password);
  assert.equal(pathOf(page), '/insights');
  await page.waitForSelector('header.topbar nav .account');
  assert.equal((await page.textContent('header.topbar nav .account')).trim(), name);
});
