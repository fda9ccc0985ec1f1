import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall } from '../support/world.ts';
import { credsOf, makeShopWorld, pullImage, pushImage, recordDeployment, type Pushed, type ShopWorld } from './support.ts';

// Retention end to end on one server: the rules, dry run = real run, the timeline, the trash and restore, policies.
let x: ShopWorld;
let main: Pushed[];
let dev: Pushed[];
let untracked: Pushed;
const owner = () => x.w.acmeOwner.token;

before(async () => {
  x = await makeShopWorld();
  main = [];
  for (let i = 0; i < 8; i++) main.push(await pushImage(x, 'web', { branch: 'main' }));
  dev = [await pushImage(x, 'web', { branch: 'dev' }), await pushImage(x, 'web', { branch: 'dev' })];
  untracked = await pushImage(x, 'web', { build: false });
  // Previous and current deployment: two old images. One more old image was pulled recently.
  await recordDeployment(x.s.metadata, x, [{ service: 'web', pushed: main[0]! }]);
  await recordDeployment(x.s.metadata, x, [{ service: 'web', pushed: main[1]! }]);
  await pullImage(x.s.url, credsOf(x.w.acmeViewer), main[2]!.repository, main[2]!.commit);
});
after(() => x.stop());

test('policies: validation, the account default applies until an application sets its own, owners only', async () => {
  const bad = await apiCall(x.s, owner(), 'PUT', '/accounts/acme/retention', { keepPulledWithinDays: 3 });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /keepLastPerBranch or keepNewerThanDays/);
  const viewer = await apiCall(x.s, x.w.acmeViewer.token, 'PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 1 });
  assert.equal(viewer.status, 403);
  const other = await apiCall(x.s, x.w.globexDev.token, 'GET', '/accounts/acme/apps/shop/retention');
  assert.equal(other.status, 404, 'another account cannot even see it');

  assert.equal((await apiCall(x.s, owner(), 'PUT', '/accounts/acme/retention', { keepLastPerBranch: 5 })).status, 200);
  let r = await apiCall(x.s, x.w.acmeViewer.token, 'GET', '/accounts/acme/apps/shop/retention');
  assert.equal(r.body.policy, null);
  assert.equal(r.body.effective.source, 'account');
  assert.equal(r.body.effective.keepLastPerBranch, 5);
  assert.equal(r.body.effective.graceDays, 7, 'default grace window');
  assert.equal(r.body.effective.keepPulledWithinDays, 30);

  const set = await apiCall(x.s, owner(), 'PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 2, keepPulledWithinDays: 30 });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  r = await apiCall(x.s, owner(), 'GET', '/accounts/acme/apps/shop/retention');
  assert.equal(r.body.effective.source, 'application');
  assert.equal(r.body.effective.keepLastPerBranch, 2);
});

test('dry run lists exactly what the real run removes, with the bytes it frees; kept images say why', async () => {
  const devDry = await apiCall(x.s, x.w.acmeViewer.token, 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: true });
  assert.equal(devDry.status, 403, 'viewers cannot even dry-run');
  const dry = await apiCall(x.s, owner(), 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: true });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  const app = dry.body.applications[0];
  const going = app.decisions.filter((d: any) => d.status === 'would-remove');
  // main: newest two kept (6, 7), deployed (0, 1), pulled (2); dev: both (last 2); untracked: its group's newest.
  assert.deepEqual(going.map((d: any) => d.digest).sort(), [main[3]!, main[4]!, main[5]!].map((p) => p.digest).sort());
  const reasons = (p: Pushed) => app.decisions.find((d: any) => d.digest === p.digest).reasons;
  assert.deepEqual(reasons(main[1]!), ['deployed']);
  assert.deepEqual(reasons(main[0]!), ['deployed'], 'the previous deployment is kept too');
  assert.deepEqual(reasons(main[2]!), ['pulled recently']);
  assert.deepEqual(reasons(main[7]!), ['last 2 of main']);
  assert.deepEqual(reasons(untracked), ['last 2 of (untracked)']);
  // Each removed image holds 2 random layers + config + manifest that nothing else uses.
  for (const d of going) assert.ok(d.bytes > 2 * 8192, `bytes of ${d.digest}: ${d.bytes}`);
  assert.equal(dry.body.totals.bytesFreed, going.reduce((s: number, d: any) => s + d.bytes, 0));
  // Nothing changed (checked without pulling: a pull would make the image "pulled recently").
  const repo = (await x.s.metadata.repositories.get(main[3]!.repository))!;
  assert.equal(await x.s.metadata.tags.get(repo.id, main[3]!.commit), main[3]!.digest);

  const real = await apiCall(x.s, owner(), 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: false });
  assert.equal(real.status, 200, JSON.stringify(real.body));
  const removed = real.body.applications[0].decisions.filter((d: any) => d.status === 'removed');
  assert.deepEqual(real.body.applications[0].decisions.filter((d: any) => d.status === 'skipped'), []);
  assert.deepEqual(removed.map((d: any) => d.digest).sort(), going.map((d: any) => d.digest).sort(), 'dry run = real run');
  assert.equal(real.body.totals.bytesFreed, dry.body.totals.bytesFreed);
  for (const d of removed) assert.ok(d.trashId && d.restorableUntil > new Date().toISOString(), 'restorable for a while');

  for (const p of [main[3]!, main[4]!, main[5]!]) {
    await assert.rejects(pullImage(x.s.url, credsOf(x.w.acmeViewer), p.repository, p.commit), /HTTP 404/);
  }
  for (const p of [main[0]!, main[1]!, main[2]!, main[6]!, main[7]!, ...dev, untracked]) {
    await pullImage(x.s.url, credsOf(x.w.acmeViewer), p.repository, p.commit);
  }
  const again = await apiCall(x.s, owner(), 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: true });
  assert.equal(again.body.totals.removed, 0, 'a second run finds nothing more');
});

test('the timeline keeps removed images\' builds and says the image was removed by retention; logs stay', async () => {
  const t = await apiCall(x.s, owner(), 'GET', '/accounts/acme/apps/shop/timeline');
  const entry = (p: Pushed) => t.body.find((e: any) => e.id === p.buildId);
  for (const p of [main[3]!, main[4]!, main[5]!]) {
    const e = entry(p);
    assert.ok(e, 'the build entry is still there');
    assert.equal(e.image, null);
    assert.equal(e.imageRemoved.reason, 'retention');
    assert.ok(e.imageRemoved.restorableUntil, 'says until when it can be restored');
    assert.match(e.imageRemoved.image, new RegExp(`${p.commit}$`));
    assert.equal((await apiCall(x.s, owner(), 'GET', `/builds/${p.buildId}/log`)).status, 200, 'the log follows its build');
  }
  assert.ok(entry(main[7]!).image, 'kept images keep their image');
  const images = await apiCall(x.s, owner(), 'GET', '/accounts/acme/apps/shop/images');
  assert.ok(!images.body.some((i: any) => i.commit === main[3]!.commit), 'removed images are not listed as pullable');
  const events = await x.s.metadata.events.list({ afterSeq: 0, applicationId: x.app.id, limit: 1000 });
  const applied = events.filter((e) => e.kind === 'retention.applied');
  assert.equal(applied.length, 1);
  assert.equal((applied[0]!.payload as any).images.length, 3);
});

test('a removed image is restorable: restore brings the tag back; a deploy of its commit builds again meanwhile', async () => {
  const trash = await apiCall(x.s, x.w.acmeViewer.token, 'GET', '/accounts/acme/trash');
  assert.equal(trash.status, 200);
  assert.equal(trash.body.length, 3);
  const entry = trash.body.find((e: any) => e.digest === main[4]!.digest);
  assert.equal(entry.reason, 'retention');
  assert.equal(entry.application, 'shop');
  assert.deepEqual(entry.tags, [main[4]!.commit]);

  // While removed, the deployer does not reuse the build (its image is gone): findSucceeded skips it.
  assert.equal(await x.s.metadata.builds.findSucceeded(x.services.web.id, main[4]!.commit), null);
  assert.equal((await apiCall(x.s, x.w.acmeViewer.token, 'POST', `/accounts/acme/trash/${entry.id}/restore`)).status, 403, 'viewers cannot restore');
  const restored = await apiCall(x.s, x.w.acmeOwner.token, 'POST', `/accounts/acme/trash/${entry.id}/restore`);
  assert.equal(restored.status, 200, JSON.stringify(restored.body));
  assert.equal(restored.body.state, 'restored');
  await pullImage(x.s.url, credsOf(x.w.acmeViewer), main[4]!.repository, main[4]!.commit);
  assert.equal((await x.s.metadata.builds.findSucceeded(x.services.web.id, main[4]!.commit))?.id, main[4]!.buildId);
  const t = await apiCall(x.s, owner(), 'GET', '/accounts/acme/apps/shop/timeline');
  const e = t.body.find((i: any) => i.id === main[4]!.buildId);
  assert.equal(e.imageRemoved, undefined);
  assert.ok(e.image, 'the restored build has its image again');
  const twice = await apiCall(x.s, x.w.acmeOwner.token, 'POST', `/accounts/acme/trash/${entry.id}/restore`);
  assert.equal(twice.status, 409);
  assert.equal((await apiCall(x.s, owner(), 'GET', '/accounts/acme/trash')).body.length, 2);
  assert.equal((await apiCall(x.s, owner(), 'GET', '/accounts/acme/trash?all=true')).body.length, 3);
});

test('a policy that is disabled, or none at all, removes nothing', async () => {
  await apiCall(x.s, owner(), 'PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 1, enabled: false });
  const dry = await apiCall(x.s, owner(), 'POST', '/accounts/acme/retention/run', { dryRun: true });
  assert.equal(dry.status, 200);
  assert.equal(dry.body.totals.removed, 0);
  assert.equal(dry.body.applications[0].policy.enabled, false);
  assert.equal((await apiCall(x.s, owner(), 'DELETE', '/accounts/acme/apps/shop/retention')).status, 204);
  assert.equal((await apiCall(x.s, owner(), 'DELETE', '/accounts/acme/retention')).status, 204);
  const none = await apiCall(x.s, owner(), 'POST', '/accounts/acme/retention/run', { dryRun: false });
  assert.equal(none.body.totals.removed, 0);
  assert.equal(none.body.applications[0].policy, null);
});

test('a removal racing a deployment that starts using the image, or a re-push of its tag, is skipped', async () => {
  const md = x.s.metadata;
  const p = await pushImage(x, 'api');
  const repo = (await md.repositories.get(p.repository))!;
  const tags = (await md.lifecycle.inventory.manifests([repo.id])).find((m) => m.digest === p.digest)!.tags;
  const evaluatedAt = new Date(Date.now() - 60_000).toISOString();
  const remove = (guard: { tags: typeof tags; seenDeployments: string[] }) => md.lifecycle.trash.remove({
    accountId: x.app.accountId, applicationId: x.app.id, repositoryId: repo.id, repository: p.repository, digest: p.digest, cascade: [],
    buildIds: [p.buildId!], reason: 'retention', removedBy: 'test', graceMs: 0, bytes: 0, guard: { ...guard, evaluatedAt },
  });
  // A deployment the evaluation did not see starts using the image.
  const d = await recordDeployment(md, x, [{ service: 'api', pushed: p }]);
  const raced = await remove({ tags, seenDeployments: [] });
  assert.equal(raced.ok, false);
  assert.match((raced as { reason: string }).reason, new RegExp(`deployment ${d}`));
  // The tag was pushed again since the evaluation.
  const repushed = await remove({ tags: tags.map((t) => ({ ...t, updatedAt: '2000-01-01T00:00:00.000Z' })), seenDeployments: [d] });
  assert.equal(repushed.ok, false);
  assert.match((repushed as { reason: string }).reason, /tags changed/);
  // Nothing changed behind the evaluation's back: removed.
  assert.equal((await remove({ tags, seenDeployments: [d] })).ok, true);
  assert.equal(await md.tags.get(repo.id, p.commit), null);
});
