import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, ADMIN, type TestServer } from '../support/server.ts';
import { apiCall, makeWorld, type World } from '../support/world.ts';
import { skipOrFail } from '../harness/require.ts';
import { chromiumProblem, ensureDashboardBuilt, launchChromium, signIn, watchCsp } from './support.ts';

// The dashboard's session in a real browser: after sign-in no token is in the page's storage or readable cookies; the
// main pages load under the Content-Security-Policy without a single violation; another origin's auto-submitting form
// (same site, so the SameSite cookie goes along, and cross-site) cannot act with the session; sign-out ends the session
// on the server, not only in the page.

let s: TestServer;
let w: World;
let browser: Browser | null = null;
let evil: Server;
let evilPort = 0;

before(async () => {
  ensureDashboardBuilt();
  s = await startTestServer({ buildConcurrency: 0 });
  w = await makeWorld(s);
  assert.equal((await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'shop' })).status, 201);
  // The attacker's page: a form that posts to BuildGrid as soon as it loads (no CSP here: it is not our page).
  evil = createServer((req, res) => {
    const target = new URL(req.url ?? '/', 'http://x').searchParams.get('target');
    res.writeHead(200, { 'content-type': 'text/html' }).end(target
      ? `<form method="post" enctype="text/plain" action="${target}"><input name="x" value="y"></form><script>document.forms[0].submit()</script>`
      : '<p>another site</p>');
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  evilPort = (evil.address() as AddressInfo).port;
  browser = await launchChromium();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await new Promise((r) => evil?.close(r));
  await s?.stop();
});

async function newPage(): Promise<{ ctx: BrowserContext; page: Page; violations: string[] }> {
  const ctx = await browser!.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20_000);
  return { ctx, page, violations: watchCsp(page) };
}

const registryPassword = async () => (await apiCall(s, w.acmeOwner.token, 'GET', '/credentials')).body.password as string;

test('after sign-in no token is in localStorage, sessionStorage or script-readable cookies', { timeout: 60_000 }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const { ctx, page, violations } = await newPage();
  try {
    await signIn(page, s.url, w.acmeOwner.email, w.acmeOwner.password);
    const cookie = (await ctx.cookies(s.url)).find((c) => c.name === 'buildgrid_session');
    assert.ok(cookie, 'the session is a cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.match(cookie.value, /^bga_/);
    const stored = await page.evaluate(() => {
      const all: Record<string, string> = {};
      for (const st of [localStorage, sessionStorage]) for (let i = 0; i < st.length; i++) all[st.key(i)!] = st.getItem(st.key(i)!)!;
      return { all, cookies: document.cookie };
    });
    const text = JSON.stringify(stored);
    assert.ok(!text.includes(cookie.value), `the session token is not readable by the page: ${text}`);
    assert.doesNotMatch(text, /bga_|token|csrf|bearer/i, text);
    assert.deepEqual(violations, []);
  } finally {
    await ctx.close();
  }
});

test('the main pages load under the Content-Security-Policy without violations', { timeout: 120_000 }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const { ctx, page, violations } = await newPage();
  try {
    await signIn(page, s.url, ADMIN.email, ADMIN.password);
    const pages: Array<[string, string]> = [
      ['/a/acme', 'Applications'], ['/a/acme/apps/shop', 'shop'], ['/a/acme/members', 'Members'], ['/a/acme/storage', 'Storage'],
      ['/a/acme/settings', 'BuildGrid Settings'], ['/a/acme/notifications', 'Notifications'], ['/accounts/new', 'New account'],
      ['/admin/storage', 'Storage administration'], ['/admin/workers', 'Build workers'],
    ];
    for (const [path, heading] of pages) {
      await page.goto(`${s.url}${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      // The stylesheet loaded and applies (a refused one would leave the page unstyled).
      assert.ok(await page.evaluate(() => document.styleSheets.length > 0 && getComputedStyle(document.querySelector('.topbar')!).display !== 'inline'), path);
      assert.deepEqual(violations, [], path);
    }
    // The frame-ancestors directive in action: another origin's page cannot frame the dashboard.
    await page.goto(`http://127.0.0.1:${evilPort}/`);
    await page.evaluate((src) => new Promise<void>((resolve) => {
      const f = document.createElement('iframe');
      f.src = src;
      f.onload = () => resolve();
      document.body.appendChild(f);
    }), `${s.url}/a/acme`);
    const framed = page.frames().find((f) => f.url().startsWith(s.url));
    assert.equal(await framed?.locator('#root').count() ?? 0, 0, 'the dashboard did not render inside another site');
  } finally {
    await ctx.close();
  }
});

test("another origin's auto-submitting form cannot act with the session cookie", { timeout: 60_000 }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const { ctx, page } = await newPage();
  try {
    await signIn(page, s.url, w.acmeOwner.email, w.acmeOwner.password);
    const before = await registryPassword();
    const target = encodeURIComponent(`${s.url}/api/v1/credentials/rotate`);
    // Same site (another port of this host: the SameSite=Strict cookie IS sent), then another site (localhost).
    for (const origin of [`http://127.0.0.1:${evilPort}`, `http://localhost:${evilPort}`]) {
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/credentials/rotate'));
      await page.goto(`${origin}/?target=${target}`);
      const res = await answer;
      assert.ok([401, 403].includes(res.status()), `${origin}: answered ${res.status()} ${await res.text()}`);
      assert.equal(await registryPassword(), before, `${origin}: the registry password was not rotated`);
    }
    // The session itself still works in the dashboard, where a rotation is allowed.
    await page.goto(`${s.url}/a/acme/settings`);
    await page.getByRole('heading', { name: 'BuildGrid Settings', level: 1 }).waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
    assert.equal(me, 200);
  } finally {
    await ctx.close();
  }
});

test('sign-out ends the session on the server, not only in the page', { timeout: 60_000 }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const { ctx, page, violations } = await newPage();
  try {
    await signIn(page, s.url, w.acmeOwner.email, w.acmeOwner.password);
    const cookie = (await ctx.cookies(s.url)).find((c) => c.name === 'buildgrid_session')!;
    const copied = `${cookie.name}=${cookie.value}`;
    assert.equal((await fetch(`${s.url}/api/v1/me`, { headers: { cookie: copied } })).status, 200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal((await ctx.cookies(s.url)).find((c) => c.name === 'buildgrid_session'), undefined, 'the browser dropped the cookie');
    assert.equal((await fetch(`${s.url}/api/v1/me`, { headers: { cookie: copied } })).status, 401, 'a copy of the cookie is worthless');
    // A reload stays signed out.
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.deepEqual(violations, []);
  } finally {
    await ctx.close();
  }
});

test('a token an older dashboard left in localStorage is revoked and removed', { timeout: 60_000 }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const { ctx, page } = await newPage();
  try {
    const old = (await apiCall(s, null, 'POST', '/auth/login', { email: w.acmeOwner.email, password: w.acmeOwner.password })).body.token as string;
    await page.goto(`${s.url}/`);
    await page.evaluate((tk) => localStorage.setItem('buildgrid.token', tk), old);
    const revoked = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/logout'));
    await page.reload();
    assert.equal((await revoked).status(), 200);
    assert.equal(await page.evaluate(() => localStorage.getItem('buildgrid.token')), null);
    assert.equal((await apiCall(s, old, 'GET', '/me')).status, 401);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  } finally {
    await ctx.close();
  }
});
