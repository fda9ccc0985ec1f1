import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { sha256Of } from '../../src/core/digest.ts';
import { ADMIN } from '../support/server.ts';
import { apiCall } from '../support/world.ts';
import { credsOf, makeShopWorld, pushImage, recordDeployment, sleep, type Pushed, type ShopWorld } from '../lifecycle/support.ts';
import { skipOrFail } from '../harness/require.ts';
import { chromiumProblem, ensureDashboardBuilt, launchChromium, screenshot, signedInContext, signIn, watchCsp } from './support.ts';

// Retention and storage in the dashboard, in a real browser against a real server (issue 6): an owner sets the
// application's policy, a dry run lists exactly the images and bytes the API reports, Apply now moves them to the
// trash, the timeline says "removed by retention", Restore brings the tag back (checked through /v2 tags/list), usage
// figures equal the API's, and an administrator starts a GC dry run and finds it in the history. The images are
// pushed through the registry with recorded builds (no real builds), so the whole file takes seconds.
// BUILDGRID_SCREENSHOTS=1 saves docs/screenshots/retention-*.png, account-storage.png and admin-storage.png.

const T = 120_000;
let x: ShopWorld;
let browser: Browser | null = null;
let ctx: BrowserContext;
let page: Page;
/** Content-Security-Policy violations on the owner's pages (storage, retention, trash, usage). */
let cspViolations: string[] = [];
const web: Pushed[] = [];
const api: Pushed[] = [];
let going: Pushed[] = []; // what keep-last-2 removes: web main[1], main[2] (main[0] is deployed) and api[0]

before(async () => {
  ensureDashboardBuilt();
  x = await makeShopWorld();
  const base = randomBytes(16_384); // a layer every image shares, also with another application
  for (let i = 0; i < 5; i++) {
    web.push(await pushImage(x, 'web', { branch: 'main', shared: [base] }));
    await sleep(5); // distinct push times: "the last 2" is then the last two pushed
  }
  web.push(await pushImage(x, 'web', { branch: 'dev', shared: [base] }));
  for (let i = 0; i < 3; i++) {
    api.push(await pushImage(x, 'api', { branch: 'main' }));
    await sleep(5);
  }
  await recordDeployment(x.s.metadata, x, [{ service: 'web', pushed: web[0]! }]);
  // An uploaded blob no manifest uses: garbage once older than the collection fence (1 s here).
  const orphan = randomBytes(20_000);
  await x.client.uploadBlob(web[0]!.repository, sha256Of(orphan), orphan.length, () => Readable.from([orphan]));
  going = [web[1]!, web[2]!, api[0]!];
  // A second application whose image shares the base layer: part of shop's bytes are shared.
  const token = x.w.acmeOwner.token;
  const blogApp = await apiCall(x.s, token, 'POST', '/accounts/acme/apps', { name: 'blog' });
  const blogSvc = await apiCall(x.s, token, 'POST', '/accounts/acme/apps/blog/services', { name: 'web', gitUrl: 'file:///nonexistent/blog.git' });
  assert.equal(blogSvc.status, 201, JSON.stringify(blogSvc.body));
  const svc = { id: blogSvc.body.id, repository: blogSvc.body.repository };
  await pushImage({ ...x, app: { id: blogApp.body.id, accountId: x.app.accountId }, services: { web: svc, api: svc } }, 'web', { shared: [base] });

  browser = await launchChromium();
  if (!browser) return;
  ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  cspViolations = watchCsp(page);
  page.setDefaultTimeout(20_000);
}, { timeout: T });

after(async () => {
  await browser?.close();
  await x?.stop();
});

const owner = () => x.w.acmeOwner;
const imageOf = (p: Pushed) => `${x.s.host}/${p.repository}:${p.commit}`;
const sorted = (xs: string[]) => [...xs].sort();
const attrs = (l: Locator, name: string) => l.evaluateAll((els, n) => els.map((e) => e.getAttribute(n) ?? ''), name);
const bytesIn = async (l: Locator) => Number(await l.locator('[data-bytes]').first().getAttribute('data-bytes'));

/** The tags of a repository, through the registry as a client sees them. */
async function tagsOf(repository: string): Promise<string[]> {
  const res = await fetch(`${x.s.url}/v2/${repository}/tags/list`, { headers: { authorization: credsOf(owner()) } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

/** Retries `check` (which throws while the page is not there yet) for up to 10 s; the last failure is thrown. */
async function eventually(check: () => Promise<void>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await check();
    } catch (err) {
      if (i >= 40) throw err;
      await sleep(250);
    }
  }
}

/** The four usage figures a usage block or row shows, as numbers. */
async function usageShown(l: Locator): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const k of ['unique', 'shared', 'total', 'trash']) out[k] = await bytesIn(l.getByTestId(`usage-${k}`));
  return out;
}
const usageOf = (r: { uniqueBytes: number; sharedBytes: number; totalBytes: number; trashBytes: number }) =>
  ({ unique: r.uniqueBytes, shared: r.sharedBytes, total: r.totalBytes, trash: r.trashBytes });

test('an owner sets the application\'s retention policy on its page', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await signIn(page, x.s.url, owner().email, owner().password);
  await page.goto(`${x.s.url}/a/acme/apps/shop`);
  await page.getByRole('heading', { name: 'Retention & storage' }).waitFor();
  const inForce = page.getByTestId('policy-in-force');
  assert.equal(await inForce.getAttribute('data-source'), 'none');
  assert.match(await inForce.innerText(), /No retention policy/);

  // Neither a count nor an age: refused before it reaches the server.
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByRole('alert').getByText('a policy with neither would remove every image').waitFor();
  assert.equal((await apiCall(x.s, owner().token, 'GET', '/accounts/acme/apps/shop/retention')).body.policy, null);

  await page.getByLabel('Keep the last images of each branch').fill('2');
  assert.equal(await page.getByLabel('Keep images pulled within (days)').inputValue(), '30');
  assert.equal(await page.getByLabel('Grace period (days)').inputValue(), '7');
  await page.getByLabel('Grace period (days)').fill('5');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByText('Policy saved.').waitFor();
  await page.locator('[data-testid=policy-in-force][data-source=application]').waitFor();
  assert.match(await inForce.innerText(), /this application's own policy[\s\S]*Keeps the last 2 images of each branch/);
  const r = await apiCall(x.s, owner().token, 'GET', '/accounts/acme/apps/shop/retention');
  assert.equal(r.body.policy.keepLastPerBranch, 2);
  assert.equal(r.body.policy.keepNewerThanDays, null);
  assert.equal(r.body.policy.graceDays, 5);
  assert.equal(r.body.policy.enabled, true);
  assert.equal(r.body.effective.source, 'application');
});

test('a dry run lists exactly the images the API says would go, and the bytes it would free', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await page.getByRole('button', { name: 'Dry run' }).click();
  const report = page.locator('[data-testid=retention-report][data-dry-run=true]');
  await report.waitFor();
  const dry = await apiCall(x.s, owner().token, 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: true });
  assert.equal(dry.status, 200);
  const apiGoing = dry.body.applications[0].decisions.filter((d: any) => d.status === 'would-remove');
  assert.deepEqual(sorted(apiGoing.map((d: any) => d.digest)), sorted(going.map((p) => p.digest)), 'the API agrees with the test\'s own expectation');

  const rows = page.getByRole('table', { name: 'Images that would be removed' }).locator('tbody tr');
  assert.deepEqual(sorted(await attrs(rows, 'data-digest')), sorted(apiGoing.map((d: any) => d.digest)));
  assert.deepEqual(sorted(await rows.getByTestId('report-image').allInnerTexts()), sorted(going.map(imageOf)));
  for (const d of apiGoing) {
    const row = rows.and(page.locator(`[data-digest="${d.digest}"]`));
    assert.equal(await bytesIn(row), d.bytes, `bytes of ${d.digest}`);
    assert.equal(await row.locator('td[data-label=Branch]').innerText(), d.branch);
  }
  const total = await page.getByTestId('bytes-freed').getAttribute('data-bytes');
  assert.ok(dry.body.totals.bytesFreed > 2 * 8192, `frees the random layers (${dry.body.totals.bytesFreed})`);
  assert.equal(Number(total), dry.body.totals.bytesFreed);
  assert.match(await report.locator('.report-total').innerText(), new RegExp(`would remove 3 images.*\\(${dry.body.totals.bytesFreed.toLocaleString('en')} bytes\\)`));

  // The kept ones say why.
  await page.getByText('Kept: 6 images, and why').click();
  const kept = page.getByRole('table', { name: 'Images kept' });
  assert.equal(await kept.locator(`tr[data-digest="${web[0]!.digest}"]`).getByTestId('kept-reasons').innerText(), 'deployed');
  assert.equal(await kept.locator(`tr[data-digest="${web[4]!.digest}"]`).getByTestId('kept-reasons').innerText(), 'last 2 of main');
  assert.equal(await kept.locator(`tr[data-digest="${web[5]!.digest}"]`).getByTestId('kept-reasons').innerText(), 'last 2 of dev');
  await screenshot(page, 'retention-dry-run', { element: page.locator('#storage'), maxHeight: 1500 });
  // A dry run removed nothing.
  assert.ok((await tagsOf(web[1]!.repository)).includes(web[1]!.commit));
});

test('Apply now removes them: they are in the trash, and the timeline says "removed by retention"', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await page.getByRole('button', { name: 'Apply now' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('The last dry run found 3').waitFor();
  await dialog.getByRole('button', { name: 'Remove images' }).click();
  const report = page.locator('[data-testid=retention-report][data-dry-run=false]');
  await report.waitFor();
  assert.match(await report.locator('.report-total').innerText(), /removed 3 images/);

  const trash = await apiCall(x.s, owner().token, 'GET', '/accounts/acme/trash?app=shop');
  assert.deepEqual(sorted(trash.body.map((e: any) => e.digest)), sorted(going.map((p) => p.digest)));
  const rows = page.getByRole('table', { name: 'Removed images' }).locator('tbody tr[data-state=removed]');
  await eventually(async () => assert.deepEqual(sorted(await attrs(rows, 'data-digest')), sorted(going.map((p) => p.digest))));
  for (const e of trash.body) {
    const row = rows.and(page.locator(`[data-trash="${e.id}"]`));
    assert.equal(await bytesIn(row), e.bytes);
    assert.match(await row.innerText(), /removed by retention, by owner@acme\.test/);
    assert.equal(await row.locator('td[data-label="Restorable until"] time').getAttribute('datetime'), e.expiresAt);
  }
  for (const p of going) assert.ok(!(await tagsOf(p.repository)).includes(p.commit), `${imageOf(p)} is gone from the registry`);

  // The timeline keeps their builds, says the image was removed, and offers no pull for it.
  for (const p of going) {
    const entry = page.locator(`.tl[data-kind=build][data-id="${p.buildId}"]`);
    await entry.getByTestId('image-removed').waitFor();
    assert.match(await entry.getByTestId('image-removed').innerText(), /Image removed by retention/);
    assert.equal(await entry.getByTestId('image').count(), 0);
    assert.equal(await entry.getByRole('button', { name: /Pull and run/ }).count(), 0);
  }
  const keptEntry = page.locator(`.tl[data-kind=build][data-id="${web[4]!.buildId}"]`);
  assert.equal(await keptEntry.getByTestId('image').innerText(), imageOf(web[4]!));
  assert.equal(await keptEntry.getByTestId('image-removed').count(), 0);
  const run = page.locator('.tl[data-kind=removal][data-reason=retention]');
  assert.equal(await run.count(), 1);
  assert.match(await run.locator('.tl-title').innerText(), /Retention removed 3 images/);
  assert.equal(await page.locator('.tl').first().getAttribute('data-kind'), 'removal', 'the newest entry');
  await screenshot(page, 'retention-timeline', { element: page.locator(`.tl[data-kind=build][data-id="${web[2]!.buildId}"]`) });
});

test('Restore brings the image and its tag back', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const p = web[1]!;
  assert.ok(!(await tagsOf(p.repository)).includes(p.commit));
  await page.getByRole('table', { name: 'Removed images' }).getByRole('button', { name: `Restore ${imageOf(p)}` }).click();
  await page.getByText(`Restored ${imageOf(p)}`).waitFor();
  assert.ok((await tagsOf(p.repository)).includes(p.commit), 'the tag is listed again');
  const m = await fetch(`${x.s.url}/v2/${p.repository}/manifests/${p.commit}`, { method: 'HEAD', headers: { authorization: credsOf(owner()), accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(m.status, 200);
  assert.equal(m.headers.get('docker-content-digest'), p.digest, 'the same image');

  const left = (await apiCall(x.s, owner().token, 'GET', '/accounts/acme/trash?app=shop')).body;
  assert.deepEqual(sorted(left.map((e: any) => e.digest)), sorted([web[2]!.digest, api[0]!.digest]));
  const rows = page.getByRole('table', { name: 'Removed images' }).locator('tbody tr[data-state=removed]');
  await eventually(async () => assert.deepEqual(sorted(await attrs(rows, 'data-digest')), sorted(left.map((e: any) => e.digest))));
  const entry = page.locator(`.tl[data-kind=build][data-id="${p.buildId}"]`);
  await entry.getByTestId('image').waitFor();
  assert.equal(await entry.getByTestId('image').innerText(), imageOf(p));
  assert.equal(await entry.getByTestId('image-removed').count(), 0);
  await page.locator(`.tl[data-kind=removal] li[data-trash]`, { hasText: imageOf(p) }).getByText('Restored').waitFor();
});

test('the application\'s storage usage equals the API\'s: unique, shared, total, in trash', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const u = (await apiCall(x.s, owner().token, 'GET', '/accounts/acme/apps/shop/usage')).body;
  assert.ok(u.application.sharedBytes >= 16_384, `the base layer is shared with blog (${u.application.sharedBytes})`);
  assert.ok(u.application.trashBytes > 0, 'two images are still in the trash');
  const block = page.locator('dl[data-usage="acme/shop"]');
  await eventually(async () => assert.deepEqual(await usageShown(block), usageOf(u.application)));
  const repos = page.getByRole('table', { name: 'Storage per repository' });
  for (const r of u.repositories) assert.deepEqual(await usageShown(repos.locator(`tr[data-usage="${r.name}"]`)), usageOf(r));
});

test('the account Storage page: default policy, usage per application, trash', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Storage' }).click();
  await page.getByRole('heading', { name: 'Storage', level: 1 }).waitFor();
  const usage = (await apiCall(x.s, owner().token, 'GET', '/accounts/acme/usage')).body;
  const table = page.getByRole('table', { name: 'Storage per application' });
  await table.locator('tbody tr').first().waitFor();
  assert.deepEqual(sorted(await attrs(table.locator('tbody tr'), 'data-usage')), ['acme/blog', 'acme/shop']);
  for (const a of usage.applications) assert.deepEqual(await usageShown(table.locator(`tr[data-usage="${a.name}"]`)), usageOf(a), a.name);
  assert.deepEqual(await usageShown(page.locator('dl[data-usage=acme]')), usageOf(usage.accounts[0]));

  await page.getByLabel('Keep images built within (days)').fill('90');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByText('Policy saved.').waitFor();
  const p = await apiCall(x.s, owner().token, 'GET', '/accounts/acme/retention');
  assert.equal(p.body.policy.keepNewerThanDays, 90);
  assert.equal(p.body.policy.keepLastPerBranch, null);
  // The account-wide dry run: shop by its own policy (nothing more to remove), blog by the default (all new).
  await page.getByRole('button', { name: 'Dry run' }).click();
  const report = page.locator('[data-testid=retention-report][data-dry-run=true]');
  await report.waitFor();
  const dry = (await apiCall(x.s, owner().token, 'POST', '/accounts/acme/retention/run', { dryRun: true })).body;
  assert.equal(Number(await page.getByTestId('bytes-freed').getAttribute('data-bytes')), dry.totals.bytesFreed);
  assert.deepEqual(sorted(await attrs(report.locator('.report-app'), 'data-app')), sorted(dry.applications.map((a: any) => a.application)));

  const trash = page.getByRole('table', { name: 'Removed images' });
  assert.deepEqual(await trash.locator('tbody td[data-label=Application]').allInnerTexts(), ['shop', 'shop']);
  await screenshot(page, 'account-storage', { fullPage: true });
});

test('a viewer sees the policy, usage and trash, but cannot change, run or restore', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const { ctx: vctx, page: vp } = await signedInContext(browser, x.s.url, x.w.acmeViewer.email, x.w.acmeViewer.password);
  try {
    await vp.goto(`${x.s.url}/a/acme/apps/shop`);
    await vp.locator('[data-testid=policy-in-force][data-source=application]').waitFor();
    await vp.getByRole('table', { name: 'Removed images' }).waitFor();
    assert.equal(await vp.getByRole('button', { name: 'Save policy' }).count(), 0);
    assert.equal(await vp.getByRole('button', { name: 'Dry run' }).count(), 0);
    assert.equal(await vp.getByRole('button', { name: /^Restore/ }).count(), 0);
    assert.equal(await vp.getByRole('link', { name: 'Administration' }).count(), 0, 'no admin link for members');
    await vp.goto(`${x.s.url}/admin/storage`);
    await vp.getByRole('alert').getByText('Only BuildGrid administrators').waitFor();
  } finally {
    await vctx.close();
  }
});

test('an administrator starts a GC dry run and finds it in the history with what it would free', { timeout: T }, async (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  const { ctx: actx, page: ap } = await signedInContext(browser, x.s.url, ADMIN.email, ADMIN.password);
  try {
    await ap.getByRole('link', { name: 'Administration' }).click();
    await ap.getByRole('heading', { name: 'Storage administration', level: 1 }).waitFor();
    const store = (await apiCall(x.s, x.w.adminToken, 'GET', '/admin/usage')).body.store;
    assert.ok(store.unreferencedBytes >= 20_000, `the orphan blob is collectable (${store.unreferencedBytes})`);
    await ap.getByTestId('store-bytes').waitFor();
    for (const [id, v] of [['store-bytes', store.bytes], ['store-referenced', store.referencedBytes], ['store-trash', store.trashBytes], ['store-unreferenced', store.unreferencedBytes]] as const) {
      assert.equal(await bytesIn(ap.getByTestId(id)), v, id);
    }
    // The owner's Apply now is in the history already.
    const retention = ap.locator('tr[data-kind=retention]');
    assert.equal(await retention.count(), 1);
    assert.match(await retention.innerText(), /Retention of acme\/shop[\s\S]*by owner@acme\.test[\s\S]*retention removed 3 images/);

    await ap.getByRole('button', { name: 'GC dry run' }).click();
    await ap.getByText('Garbage collection (dry run) started').waitFor();
    const row = ap.locator('tr[data-kind=gc][data-dry-run=true]');
    await row.locator('[data-status=succeeded]').waitFor();
    const runs = (await apiCall(x.s, x.w.adminToken, 'GET', '/admin/lifecycle/runs')).body;
    assert.deepEqual(runs.map((r: any) => r.kind), ['gc', 'retention'], 'newest first');
    assert.equal(runs[0].kind, 'gc');
    assert.equal(runs[0].dryRun, true);
    assert.equal(runs[0].requestedBy, ADMIN.email);
    assert.equal(await row.getAttribute('data-run'), runs[0].id);
    assert.ok(runs[0].summary.gc.bytesFreed >= 20_000, `the orphan blob would go (${runs[0].summary.gc.bytesFreed})`);
    assert.equal(await bytesIn(row.getByTestId('run-freed')), runs[0].summary.gc.bytesFreed);
    assert.match(await row.innerText(), /would free/);
    await screenshot(ap, 'admin-storage', { fullPage: true });

    await row.getByRole('link', { name: 'Garbage collection (dry run)' }).click();
    await ap.getByRole('heading', { name: 'Garbage collection (dry run)', level: 1 }).waitFor();
    const detail = (await apiCall(x.s, x.w.adminToken, 'GET', `/admin/lifecycle/runs/${runs[0].id}`)).body;
    assert.equal(await bytesIn(ap.getByTestId('run-freed')), detail.summary.gc.bytesFreed);
    const ret = ap.locator('[data-testid=retention-report]');
    assert.equal(Number(await ret.getByTestId('bytes-freed').getAttribute('data-bytes')), detail.report.retention.totals.bytesFreed);
    // A dry run changed nothing: the two removed images are still restorable, the restored one still tagged.
    assert.equal((await apiCall(x.s, owner().token, 'GET', '/accounts/acme/trash')).body.length, 2);
    assert.ok((await tagsOf(web[1]!.repository)).includes(web[1]!.commit));
  } finally {
    await actx.close();
  }
});

test('no page broke the Content-Security-Policy', (t) => {
  if (!browser) return skipOrFail(t, 'chromium', chromiumProblem());
  assert.deepEqual(cspViolations, []);
});
