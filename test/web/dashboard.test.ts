import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeGitRepo, type TestRepo } from '../support/git-repos.ts';
import { apiCall, basic } from '../support/world.ts';
import { makeBuildWorld, dockerfile, type BuildWorld } from '../builds/support.ts';
import { skipOrFail } from '../harness/require.ts';
import { chromiumProblem, ensureDashboardBuilt, launchChromium, screenshot, signIn, watchCsp } from './support.ts';

// The dashboard in a real browser (Debian's chromium through playwright-core) against a real server that builds:
// sign in, create an application with a service from a local git repository, deploy, watch the log live, read the
// timeline, copy the image URL, rotate the registry password, manage pull tokens and members, and a viewer who cannot
// deploy. With BUILDGRID_SCREENSHOTS=1 it also saves the README's screenshots (docs/screenshots/).

const LONG = 240_000;
let bw: BuildWorld;
let repo: TestRepo;
let browser: Browser | null = null;
let ctx: BrowserContext;
let page: Page;
let buildId = '';
/** Content-Security-Policy violations on the main page (sign-in, applications, build log, settings, members). */
let cspViolations: string[] = [];

before(async () => {
  ensureDashboardBuilt();
  bw = await makeBuildWorld();
  // A build that takes a few seconds and prints as it goes, so lines must arrive while it runs.
  const slow = 'RUN for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 1; done';
  repo = await makeGitRepo(join(bw.tmp, 'Shop-Web.git'), { Dockerfile: dockerfile(bw.base, slow), 'hello.txt': 'hello\n' }, { message: 'first commit' });
  browser = await launchChromium();
  if (!browser) return;
  ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: bw.s.url });
  page = await ctx.newPage();
  cspViolations = watchCsp(page);
  page.setDefaultTimeout(30_000);
}, { timeout: LONG });

after(async () => {
  await browser?.close();
  await bw?.stop();
});

const owner = () => bw.w.acmeOwner;
const imageOf = (commit: string) => `${bw.s.host}/acme/shop.shop-web:${commit}`;
/** Waits for a log line on the build page; fails at once (with the build's error) if the build ends without it. */
async function waitLine(id: string, text: string): Promise<void> {
  const line = page.locator('[data-testid=log] .line', { hasText: text }).waitFor({ timeout: LONG - 20_000 });
  line.catch(() => undefined); // when the build ends first, this wait is abandoned
  let done = false;
  const watch = (async () => {
    while (!done) {
      const b = await apiCall(bw.s, owner().token, 'GET', `/builds/${id}`);
      if (['succeeded', 'failed', 'cancelled'].includes(b.body.status)) {
        await new Promise((r) => setTimeout(r, 3000)); // the line may still be on its way to the page
        if (!done) throw new Error(`build ${id} ended ${b.body.status} before "${text}" showed: ${b.body.error}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    await Promise.race([line, watch]);
  } finally {
    done = true;
  }
}

const v2 = async (user: string, pass: string) => (await fetch(`${bw.s.url}/v2/`, { headers: { authorization: basic(user, pass) } })).status;

test('signing in shows the applications page with what to do next', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await page.goto(`${bw.s.url}/a/acme`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await screenshot(page, 'sign-in');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByLabel('Email').fill(owner().email);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await signIn(page, bw.s.url, owner().email, owner().password);
  await page.getByText('No applications yet').waitFor();
  assert.equal(await page.locator('#account-switcher').inputValue(), 'acme');
});

test('create an application with a service from a local git repository', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await page.getByRole('button', { name: 'Create your first application' }).click();
  await page.getByLabel('Application name').fill('Shop');
  await page.getByRole('button', { name: 'Create application' }).click();
  await page.getByRole('heading', { name: 'Add a service' }).waitFor();
  assert.match(page.url(), /\/a\/acme\/apps\/shop\/services\/new$/);
  await page.getByLabel('Service name').fill('web');
  await page.getByLabel('Git repository URL').fill(repo.url);
  await page.getByRole('button', { name: 'Add service' }).click();
  await page.getByRole('heading', { name: 'Shop', level: 1 }).waitFor();
  const card = page.locator('[data-service=web]');
  await card.getByText('Never built').waitFor();
  assert.match(await card.innerText(), /acme\/shop\.shop-web/);
  await page.getByText('Nothing has been built yet').waitFor();
  // Edit it: a build argument (PATCH), then back on the application page.
  await card.getByRole('link', { name: 'Edit service' }).click();
  await page.getByRole('heading', { name: 'Edit web' }).waitFor();
  assert.equal(await page.getByLabel('Git repository URL').inputValue(), repo.url);
  await page.getByLabel('Build arguments').fill('FLAVOR=from-the-dashboard');
  await page.getByRole('button', { name: 'Save service' }).click();
  await page.getByRole('heading', { name: 'Shop', level: 1 }).waitFor();
  const svc = await apiCall(bw.s, owner().token, 'GET', '/accounts/acme/apps/shop');
  assert.deepEqual(svc.body.services[0].buildArgs, { FLAVOR: 'from-the-dashboard' });
});

test('deploy, then the build page shows log lines as they are written', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();
  const started = page.locator('.deploy-started');
  await started.waitFor();
  await started.getByRole('link', { name: 'View log' }).click();
  await page.waitForURL(/\/builds\/[^/]+$/);
  buildId = decodeURIComponent(page.url().split('/').pop()!);
  // A line from the middle of the RUN step arrives while the build is still running.
  await waitLine(buildId, 'tick 2');
  const during = await apiCall(bw.s, owner().token, 'GET', `/builds/${buildId}`);
  assert.ok(['fetching', 'building', 'pushing'].includes(during.body.status), `the line arrived while the build ran (status ${during.body.status})`);
  await page.locator('.log-section[data-phase=building]').waitFor();
  await screenshot(page, 'build-running');
  await page.locator('.pagehead [data-status=succeeded]').waitFor({ timeout: LONG });
  const text = await page.locator('[data-testid=log]').innerText();
  for (const l of ['tick 1', 'tick 6']) assert.ok(text.includes(l), `log has ${l}`);
  const phases = await page.locator('.log-section').evaluateAll((els) => els.map((e) => e.getAttribute('data-phase')));
  assert.deepEqual(phases, ['fetching', 'building', 'pushing']);
  // Its base images: both stages FROM the imported busybox, resolved and with the digest used.
  const bases = page.getByTestId('base-images');
  await bases.waitFor();
  const baseRows = await bases.locator('tbody tr').allInnerTexts();
  assert.equal(baseRows.length, 2);
  for (const row of baseRows) assert.match(row, new RegExp(`${bw.base.replace(/[.]/g, '\\.')}[\\s\\S]*sha256:[0-9a-f]{12}`));
  assert.doesNotMatch(await page.locator('.log-section[data-phase=building] .log-took').innerText(), /—/);
  // Search highlights matches.
  await page.getByLabel('Search the log').fill('tick 4');
  await page.getByText('1 matching line', { exact: true }).waitFor();
  assert.equal(await page.locator('[data-testid=log] mark').innerText(), 'tick 4');
  await page.getByLabel('Search the log').fill('');
  await screenshot(page, 'build');
});

test('the timeline lists the deployment and the build with commit, author, trigger and image', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const commit = repo.head();
  await page.getByRole('link', { name: 'shop', exact: true }).click();
  await page.getByRole('heading', { name: 'Build & Deployment Timeline' }).waitFor();
  const build = page.locator(`.tl[data-kind=build][data-id="${buildId}"]`);
  await build.and(page.locator('[data-status=succeeded]')).waitFor();
  assert.equal(await build.getByTestId('commit').innerText(), commit.slice(0, 7));
  const text = await build.innerText();
  assert.match(text, /first commit/);
  assert.match(text, /Test Author/);
  assert.match(text, /by owner@acme\.test via the dashboard/);
  assert.equal(await build.getByTestId('image').innerText(), imageOf(commit));
  assert.match(text, /Image ID [0-9a-f]{12}/);
  await build.getByRole('link', { name: 'View log' }).waitFor();
  await build.getByRole('button', { name: 'Rebuild' }).waitFor();
  const dep = page.locator('.tl[data-kind=deployment]').first();
  await dep.getByText('Application Deployed').waitFor();
  assert.equal(await page.locator('[data-service=web]').getByTestId('service-image').innerText(), imageOf(commit));
  await page.getByText('Live', { exact: true }).waitFor();
  await page.getByRole('heading', { name: 'Redeploy hook' }).waitFor();
  await page.getByText('Signed URL').waitFor();
  await page.getByRole('button', { name: 'Rotate secret' }).waitFor();
  await screenshot(page, 'application', { fullPage: true });
});

test('the timeline updates live when a build starts elsewhere (CLI/API)', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const before = await page.locator('.tl[data-kind=build]').count();
  const r = await apiCall(bw.s, owner().token, 'POST', `/builds/${buildId}/rebuild`);
  assert.equal(r.status, 202);
  await page.locator(`.tl[data-kind=build][data-id="${r.body.id}"]`).waitFor();
  assert.equal(await page.locator('.tl[data-kind=build]').count(), before + 1);
  await page.locator(`.tl[data-kind=build][data-id="${r.body.id}"][data-status=succeeded]`).waitFor({ timeout: LONG });
});

test('copy the image URL; Pull & run shows docker and Kubernetes lines', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const image = imageOf(repo.head());
  const copy = page.locator('[data-service=web]').getByRole('button', { name: 'Copy image URL' });
  assert.equal(await copy.getAttribute('data-copy'), image);
  await copy.click();
  await copy.getByText('Copied').waitFor();
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(clip, image);
  await page.locator('[data-service=web]').getByRole('button', { name: /Pull and run/ }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(`docker login ${bw.s.host} -u ${owner().registry.username}`).waitFor();
  const text = await dialog.innerText();
  assert.match(text, new RegExp(`docker login ${bw.s.host} -u ${owner().registry.username}`));
  assert.ok(text.includes(`docker pull ${image}`));
  assert.ok(text.includes(`docker run --rm ${image}`));
  assert.match(text, /kubectl create secret docker-registry buildgrid-pull/);
  assert.match(text, /imagePullSecrets:\s+- name: buildgrid-pull/);
  await screenshot(page, 'pull-and-run');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
});

test('rotate the BuildGrid password in Settings: the old one is refused by the registry', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const old = owner().registry.password;
  assert.equal(await v2(owner().registry.username, old), 200);
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByRole('heading', { name: 'BuildGrid Settings' }).waitFor();
  assert.equal(await page.getByTestId('registry-username').innerText(), owner().registry.username);
  assert.equal(await page.getByTestId('registry-password').getAttribute('data-value'), null, 'masked until revealed');
  await page.getByRole('button', { name: 'Reveal' }).click();
  assert.equal(await page.getByTestId('registry-password').getAttribute('data-value'), old);
  await page.getByRole('button', { name: 'Rotate password' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate password' }).click();
  await page.getByText('New password issued').waitFor();
  const fresh = await page.getByTestId('registry-password').getAttribute('data-value');
  assert.ok(fresh && fresh !== old);
  assert.equal(await v2(owner().registry.username, old), 401, 'the old password is refused');
  assert.equal(await v2(owner().registry.username, fresh), 200, 'the new one works');
  owner().registry.password = fresh;
});

test('pull tokens: create (shown once), use, revoke', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await page.getByLabel('Name', { exact: true }).fill('ci');
  await page.getByLabel('Expires').selectOption('30');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByText('Token ci created').waitFor();
  const password = (await page.getByTestId('token-password').getAttribute('data-value'))!;
  assert.match(password, /^bgp_/);
  assert.equal(await v2('acme+ci', password), 200);
  await screenshot(page, 'settings', { fullPage: true });
  await page.getByRole('button', { name: 'I have saved it' }).click();
  const row = page.locator('tr[data-token=ci]');
  await row.getByText('Active').waitFor();
  await row.getByRole('button', { name: 'Revoke ci' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
  await row.getByText('Revoked').waitFor();
  assert.equal(await v2('acme+ci', password), 401);
});

test('members: an owner adds a new person (creating their login) and changes a role', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await page.getByRole('link', { name: 'Applications', exact: true }).click();
  await page.locator('.list-row', { hasText: 'Shop' }).getByText('Succeeded').waitFor();
  await screenshot(page, 'applications');
  await page.getByRole('link', { name: 'Members', exact: true }).click();
  await page.getByRole('heading', { name: 'Members', level: 1 }).waitFor();
  await page.getByLabel('Email').fill('newbie@acme.test');
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.getByRole('button', { name: 'Create login and add as viewer' }).click();
  await page.locator('[data-member="newbie@acme.test"]').waitFor();
  await page.getByRole('button', { name: 'Reveal' }).click();
  const shown = await page.locator('.notice code.copyfield-value').getAttribute('data-value');
  const r = await apiCall(bw.s, null, 'POST', '/auth/login', { email: 'newbie@acme.test', password: shown });
  assert.equal(r.status, 200, 'the new person can sign in with the password shown');
  await page.getByLabel('Role of newbie@acme.test').selectOption('developer');
  for (let i = 0; i < 50; i++) {
    const m = await apiCall(bw.s, owner().token, 'GET', '/accounts/acme/members');
    if (m.body.find((x: { email: string; role: string }) => x.email === 'newbie@acme.test')?.role === 'developer') break;
    assert.ok(i < 49, 'role changed');
    await new Promise((res) => setTimeout(res, 100));
  }
  await screenshot(page, 'members');
});

test('create another account from the account switcher', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await page.locator('#account-switcher').selectOption('__new');
  await page.getByRole('heading', { name: 'New account' }).waitFor();
  await page.getByLabel('Account name').fill('Initech');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText('No applications yet').waitFor();
  assert.match(page.url(), /\/a\/initech$/);
  assert.equal(await page.locator('#account-switcher').inputValue(), 'initech');
  await page.locator('#account-switcher').selectOption('acme');
  await page.getByRole('link', { name: 'Shop' }).waitFor();
});

test('a viewer cannot deploy: the button is disabled and the API refuses', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const vctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const vp = await vctx.newPage();
    vp.setDefaultTimeout(30_000);
    await signIn(vp, bw.s.url, bw.w.acmeViewer.email, bw.w.acmeViewer.password);
    await vp.getByRole('link', { name: 'Shop' }).click();
    await vp.getByRole('heading', { name: 'Shop', level: 1 }).waitFor();
    assert.equal(await vp.getByRole('button', { name: 'Deploy', exact: true }).isDisabled(), true);
    await vp.getByText('Deploying needs the developer role').waitFor();
    assert.equal(await vp.getByRole('button', { name: 'Rebuild' }).count(), 0);
    assert.equal(await vp.getByRole('link', { name: 'Add service' }).count(), 0);
    await vp.getByText('Developers and owners see the hook URL and secret.').waitFor();
    assert.equal(await vp.getByRole('button', { name: 'Rotate secret' }).count(), 0);
    // The image is still there to copy and pull.
    await vp.locator('[data-service=web]').getByRole('button', { name: 'Copy image URL' }).waitFor();
    const r = await apiCall(bw.s, bw.w.acmeViewer.token, 'POST', '/accounts/acme/apps/shop/deploy', {});
    assert.equal(r.status, 403);
  } finally {
    await vctx.close();
  }
});

test('at phone width the application page fits the screen', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const pctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  try {
    const pp = await pctx.newPage();
    pp.setDefaultTimeout(30_000);
    await signIn(pp, bw.s.url, owner().email, owner().password);
    await pp.goto(`${bw.s.url}/a/acme/apps/shop`);
    await pp.locator('.tl[data-kind=build]').first().waitFor();
    const overflow = await pp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no horizontal scrolling (overflow ${overflow}px)`);
    await screenshot(pp, 'phone-application');
  } finally {
    await pctx.close();
  }
});

test('cancel a running build from its page', { timeout: LONG }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  // A new commit (a rebuild of the same one would take the slow step from the layer cache).
  await repo.commit({ 'hello.txt': 'hello again\n' }, 'second commit');
  const d = await apiCall(bw.s, owner().token, 'POST', '/accounts/acme/apps/shop/deploy', {});
  assert.equal(d.status, 202);
  const r = { body: d.body.builds[0] };
  await page.goto(`${bw.s.url}/a/acme/apps/shop/builds/${r.body.id}`);
  await waitLine(r.body.id, 'tick 1');
  await page.getByRole('button', { name: 'Cancel build' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel build' }).click();
  await page.locator('.pagehead [data-status=cancelled]').waitFor({ timeout: 60_000 });
  const b = await apiCall(bw.s, owner().token, 'GET', `/builds/${r.body.id}`);
  assert.equal(b.body.status, 'cancelled');
  assert.equal(b.body.image === null || b.body.imageDigest === null, true, 'no image from a cancelled build');
  await page.getByRole('button', { name: 'Rebuild' }).waitFor();
});

test('no page broke the Content-Security-Policy (no inline script or style, nothing from elsewhere)', (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  assert.deepEqual(cspViolations, []);
});
