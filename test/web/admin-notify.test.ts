import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { ADMIN } from '../support/server.ts';
import { apiCall } from '../support/world.ts';
import { startReceiver, type Receiver } from '../hooks/receivers.ts';
import { makeShopWorld, pushImage, sleep, type Pushed, type ShopWorld } from '../lifecycle/support.ts';
import { skipOrFail } from '../harness/require.ts';
import { chromiumProblem, ensureDashboardBuilt, launchChromium, screenshot, signedInContext } from './support.ts';

// Notification endpoints and worker tokens in the dashboard, in a real browser against a real server. An owner adds
// an endpoint pointing at a loopback receiver through the form, the secret shown once is the one the receiver then
// verifies signatures with, a rebuild (queued, never run: buildConcurrency 0) sends build.queued, the receiver refuses
// it until attempts run out, the page shows the failure, Redeliver in the page sends the same body again and it
// arrives signed. An administrator creates a worker token in the page, the token shown works on /api/v1/worker/*,
// Revoke in the page makes the same call 401. A viewer and a non-administrator are told "Not allowed".
// BUILDGRID_SCREENSHOTS=1 saves docs/screenshots/notifications.png and admin-workers.png.

const T = 60_000;
let x: ShopWorld;
let browser: Browser | null = null;
let receiver: Receiver;
let answer = 503; // what the receiver answers a correctly signed request
let built: Pushed;

before(async () => {
  ensureDashboardBuilt();
  // The receiver is on loopback, which notifications refuse by default: this server allows it explicitly.
  x = await makeShopWorld({ allowPrivateNetworks: ['127.0.0.0/8'], notificationMaxAttempts: 2, notificationBackoffSeconds: 0.2, notificationBackoffMaxSeconds: 0.5, notificationTimeoutSeconds: 5 });
  built = await pushImage(x, 'web', { branch: 'main' });
  receiver = await startReceiver(() => answer);
  browser = await launchChromium();
}, { timeout: T });

after(async () => {
  await browser?.close();
  await receiver?.close();
  await x?.stop();
});

const owner = () => x.w.acmeOwner;

/** Retries `check` (which throws while the state is not there yet) for up to 15 s; the last failure is thrown. */
async function eventually<R>(check: () => Promise<R>): Promise<R> {
  for (let i = 0; ; i++) {
    try {
      return await check();
    } catch (err) {
      if (i >= 60) throw err;
      await sleep(250);
    }
  }
}

/** The README's check: `sha256=<hex HMAC-SHA256 of the raw body keyed with the secret>`, compared in constant time. */
function signedWith(secret: string, body: string, header: unknown): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const got = Buffer.from(typeof header === 'string' ? header : '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

test('an owner adds an endpoint, sees a failed delivery, redelivers it from the page and it arrives signed', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const { ctx, page } = await signedInContext(browser, x.s.url, owner().email, owner().password);
  try {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'BuildGrid Settings', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
    await page.getByText('No notification endpoints yet').waitFor();

    // A URL the server refuses: its message is shown and nothing is added.
    await page.getByLabel('Endpoint URL').fill('gopher://example.com/x');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('alert').getByText('must be http:// or https://').waitFor();
    assert.deepEqual((await apiCall(x.s, owner().token, 'GET', '/accounts/acme/notifications')).body, []);

    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByLabel('Description').fill('release bot');
    for (const ev of ['build.started', 'build.succeeded', 'build.failed', 'deployment.succeeded']) await page.getByLabel(ev).uncheck();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secretField = page.getByTestId('endpoint-secret');
    await secretField.waitFor();
    const secret = (await secretField.getAttribute('data-value')) ?? '';
    assert.match(secret, /^bgn_/);
    receiver.secret = secret;

    const endpoints = (await apiCall(x.s, owner().token, 'GET', '/accounts/acme/notifications')).body;
    assert.equal(endpoints.length, 1);
    assert.equal(endpoints[0].url, receiver.url);
    assert.deepEqual(endpoints[0].events, ['build.queued', 'deployment.failed']);
    assert.equal(endpoints[0].description, 'release bot');
    assert.equal(endpoints[0].createdBy, owner().email);
    await page.getByRole('button', { name: 'I have saved it' }).click();
    const row = page.locator(`tr[data-endpoint="${endpoints[0].id}"]`);
    assert.match(await row.innerText(), /build\.queued, deployment\.failed/);

    // An event: a rebuild is queued (and stays queued). The receiver answers 503 to both attempts.
    const rebuilt = await apiCall(x.s, owner().token, 'POST', `/builds/${built.buildId}/rebuild`);
    assert.equal(rebuilt.status, 202, JSON.stringify(rebuilt.body));
    const failed = page.locator('tbody[data-event="build.queued"][data-status="failed"]');
    await failed.waitFor({ timeout: 20_000 });
    const [first] = (await apiCall(x.s, owner().token, 'GET', '/accounts/acme/notifications/deliveries')).body;
    assert.equal(first.status, 'failed');
    assert.equal(first.attemptCount, 2);
    assert.equal(first.lastStatusCode, 503);
    assert.equal(await failed.getAttribute('data-delivery'), first.id);
    assert.equal(await failed.getByTestId('delivery-attempts').innerText(), '2 of 2');
    assert.match(await failed.getByTestId('delivery-last').innerText(), /HTTP 503/);
    assert.match(await failed.innerText(), new RegExp(receiver.url.replace(/[.]/g, '\\.')));
    assert.equal(receiver.got.length, 2);
    for (const n of receiver.got) {
      assert.ok(signedWith(secret, n.body, n.headers['x-buildgrid-signature-256']), 'signed with the secret the page showed');
      assert.equal(n.headers['x-buildgrid-delivery'], first.id);
      assert.equal(n.headers['x-buildgrid-event'], 'build.queued');
      assert.equal(n.json.build.id, rebuilt.body.id);
      assert.equal(n.json.account.namespace, 'acme');
    }
    await failed.getByRole('button', { name: 'Details' }).click();
    assert.equal((await failed.getByRole('list', { name: 'Attempts' }).getByRole('listitem').allInnerTexts()).filter((s) => /HTTP 503/.test(s)).length, 2);

    // The receiver is fixed; Redeliver from the page sends the same body under a new delivery id.
    answer = 204;
    await failed.getByRole('button', { name: /^Redeliver build\.queued delivery/ }).click();
    await page.getByText('is being sent again as delivery').waitFor();
    const ok = page.locator('tbody[data-event="build.queued"][data-status="succeeded"]');
    await ok.waitFor({ timeout: 20_000 });
    const again = (await apiCall(x.s, owner().token, 'GET', '/accounts/acme/notifications/deliveries')).body.find((d: any) => d.redeliveryOf === first.id);
    assert.ok(again, 'a redelivery of the failed delivery');
    assert.equal(again.status, 'succeeded');
    assert.equal(again.attemptCount, 1);
    assert.equal(again.lastStatusCode, 204);
    assert.equal(await ok.getAttribute('data-delivery'), again.id);
    assert.match(await ok.innerText(), new RegExp(`redelivery of ${first.id.slice(0, 8)}`));
    assert.match(await ok.getByTestId('delivery-last').innerText(), /HTTP 204/);
    assert.equal(await ok.getByTestId('delivery-attempts').innerText(), '1 of 2');
    assert.equal(receiver.got.length, 3);
    const last = receiver.got[2]!;
    assert.equal(last.status, 204);
    assert.equal(last.headers['x-buildgrid-delivery'], again.id);
    assert.ok(signedWith(secret, last.body, last.headers['x-buildgrid-signature-256']), 'the redelivery is signed');
    assert.ok(!signedWith(`${secret}x`, last.body, last.headers['x-buildgrid-signature-256']), 'and not with another secret');
    assert.equal(last.body, receiver.got[0]!.body, 'the same payload, byte for byte');
    await page.getByRole('button', { name: 'Add endpoint' }).waitFor();
    await screenshot(page, 'notifications', { fullPage: true });

    // Delete, after the confirmation.
    await row.getByRole('button', { name: `Delete endpoint ${receiver.url}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByText('No notification endpoints yet').waitFor();
    assert.deepEqual((await apiCall(x.s, owner().token, 'GET', '/accounts/acme/notifications')).body, []);
  } finally {
    await ctx.close();
  }
});

test('a viewer is told that notification endpoints are for developers and owners', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const v = x.w.acmeViewer;
  assert.equal((await apiCall(x.s, v.token, 'GET', '/accounts/acme/notifications')).status, 403);
  const { ctx, page } = await signedInContext(browser, x.s.url, v.email, v.password);
  try {
    await page.goto(`${x.s.url}/a/acme/notifications`);
    const alert = page.getByRole('alert');
    await alert.getByText('Not allowed').waitFor();
    assert.match(await alert.innerText(), /developers and owners/);
    assert.equal(await page.getByRole('button', { name: 'Add endpoint' }).count(), 0);
  } finally {
    await ctx.close();
  }
});

test('an administrator creates a worker token, a worker can use it, and after Revoke it cannot', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const workerConfig = (token: string) => fetch(`${x.s.url}/api/v1/worker/config`, { headers: { authorization: `Bearer ${token}` } });
  const { ctx, page } = await signedInContext(browser, x.s.url, ADMIN.email, ADMIN.password);
  try {
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { name: 'Storage administration', level: 1 }).waitFor();
    await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Build workers' }).click();
    await page.getByRole('heading', { name: 'Build workers', level: 1 }).waitFor();
    await page.getByText('No worker tokens yet').waitFor();

    await page.getByLabel('Token name').fill('build-host-1');
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByTestId('worker-token');
    await shown.waitFor();
    const token = (await shown.getAttribute('data-value')) ?? '';
    assert.match(token, /^bgw_/);
    const command = await page.getByRole('figure').filter({ hasText: 'Run on the build host' }).locator('pre').innerText();
    assert.equal(command, `BUILDGRID_WORKER_TOKEN=${token} buildgrid worker --server ${x.s.url}`);
    assert.equal(await page.getByRole('button', { name: 'Copy worker token' }).getAttribute('data-copy'), token);
    await screenshot(page, 'admin-workers', { fullPage: true });

    const listed = (await apiCall(x.s, x.w.adminToken, 'GET', '/admin/worker-tokens')).body;
    assert.equal(listed.length, 1);
    assert.equal(listed[0].name, 'build-host-1');
    assert.equal(listed[0].createdBy, ADMIN.email);
    assert.equal(listed[0].lastUsedAt, null);
    const row = page.locator(`tr[data-id="${listed[0].id}"]`);
    assert.equal(await row.getByTestId('last-used').innerText(), 'never');
    assert.equal(await row.getAttribute('data-state'), 'active');

    // The token works the way a worker uses it.
    const before = await workerConfig(token);
    assert.equal(before.status, 200);
    assert.equal(typeof ((await before.json()) as { buildTimeoutMs: unknown }).buildTimeoutMs, 'number');
    const used = await eventually(async () => {
      const l = (await apiCall(x.s, x.w.adminToken, 'GET', '/admin/worker-tokens')).body[0];
      assert.ok(l.lastUsedAt, 'the use is recorded');
      return l.lastUsedAt as string;
    });
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await page.reload();
    assert.equal(await row.getByTestId('last-used').locator('time').getAttribute('datetime'), used);

    await row.getByRole('button', { name: 'Revoke build-host-1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await page.locator(`tr[data-id="${listed[0].id}"][data-state="revoked"]`).waitFor();
    assert.ok((await apiCall(x.s, x.w.adminToken, 'GET', '/admin/worker-tokens')).body[0].revokedAt, 'revoked in the API');
    assert.equal((await workerConfig(token)).status, 401);
    assert.equal(await row.getByRole('button', { name: 'Revoke build-host-1' }).count(), 0);
  } finally {
    await ctx.close();
  }
});

test('someone who is not an administrator gets "Not allowed" on the workers page', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  assert.equal((await apiCall(x.s, owner().token, 'GET', '/admin/worker-tokens')).status, 403);
  const { ctx, page } = await signedInContext(browser, x.s.url, owner().email, owner().password);
  try {
    assert.equal(await page.getByRole('link', { name: 'Administration' }).count(), 0);
    await page.goto(`${x.s.url}/admin/workers`);
    await page.getByRole('alert').getByText('Not allowed').waitFor();
    assert.equal(await page.getByLabel('Token name').count(), 0);
  } finally {
    await ctx.close();
  }
});
