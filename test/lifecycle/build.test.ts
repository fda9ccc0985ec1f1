import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeBuildWorld, waitBuild, type BuildWorld } from '../builds/support.ts';
import { makeGitRepo } from '../support/git-repos.ts';
import { adminClient, apiCall } from '../support/world.ts';
import { credsOf, fsckNow, pullImage, pushImage, recordDeployment, type ShopWorld } from './support.ts';

// Retention with a real build (buildah): the built image, once neither current nor previous deployment nor recent,
// is removed; its timeline entry and log stay; deploying its commit again builds it again instead of reusing it.
let bw: BuildWorld;
let x: ShopWorld;

before(async () => {
  bw = await makeBuildWorld({ buildConcurrency: 1, gcIntervalMinutes: 0, gcMinBlobAgeSeconds: 1 });
});
after(() => bw.stop());

test('a real build\'s image is removed by retention when superseded; its entry and log stay; a redeploy builds it again', async () => {
  const token = bw.w.acmeOwner.token;
  const repo = await makeGitRepo(join(bw.tmp, 'web.git'), { Dockerfile: `FROM ${bw.base}\nRUN echo built > /built.txt\n` }, { message: 'first' });
  assert.equal((await apiCall(bw.s, token, 'POST', '/accounts/acme/apps', { name: 'shop' })).status, 201);
  const svc = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/services', { name: 'web', gitUrl: repo.url });
  assert.equal(svc.status, 201, JSON.stringify(svc.body));
  const dep = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/deploy', {});
  assert.equal(dep.status, 202, JSON.stringify(dep.body));
  const built = await waitBuild(bw.s, token, dep.body.builds[0].id);
  assert.equal(built.status, 'succeeded', built.error);

  // Two later deployments (of pushed images, standing in for more builds) and a newer image supersede it.
  const app = (await apiCall(bw.s, token, 'GET', '/accounts/acme/apps/shop')).body;
  const account = (await bw.s.metadata.accounts.getByNamespace('acme'))!;
  x = {
    s: bw.s, w: bw.w, client: adminClient(bw.s, bw.w.adminToken), app: { id: app.id, accountId: account.id },
    services: { web: { id: svc.body.id, repository: svc.body.repository }, api: { id: svc.body.id, repository: svc.body.repository } },
    stop: async () => undefined,
  };
  const later = [await pushImage(x, 'web'), await pushImage(x, 'web'), await pushImage(x, 'web')];
  await recordDeployment(bw.s.metadata, x, [{ service: 'web', pushed: later[0]! }]);
  await recordDeployment(bw.s.metadata, x, [{ service: 'web', pushed: later[1]! }]);
  await apiCall(bw.s, token, 'PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 1, keepPulledWithinDays: 0 });
  const run = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: false });
  const removed = run.body.applications[0].decisions.filter((d: any) => d.status === 'removed');
  assert.deepEqual(removed.map((d: any) => d.digest), [built.imageDigest], JSON.stringify(run.body.applications[0].decisions));
  assert.deepEqual(removed[0].buildIds, [built.id]);

  const timeline = await apiCall(bw.s, token, 'GET', '/accounts/acme/apps/shop/timeline');
  const entry = timeline.body.find((e: any) => e.id === built.id);
  assert.equal(entry.status, 'succeeded');
  assert.equal(entry.imageRemoved.reason, 'retention');
  assert.equal(entry.image, null);
  const log = await apiCall(bw.s, token, 'GET', `/builds/${built.id}/log`);
  assert.ok(log.body.lines.length > 3, 'the log follows its build');
  const deployment = timeline.body.find((e: any) => e.kind === 'deployment' && e.services?.[0]?.buildId === built.id);
  assert.ok(deployment, 'the deployment entry stays too');
  await assert.rejects(pullImage(bw.s.url, credsOf(bw.w.acmeViewer), svc.body.repository, built.commit), /HTTP 404/);

  // Deploying the same commit does not reuse the removed image: a new build is queued.
  const again = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/deploy', {});
  assert.equal(again.status, 202);
  assert.equal(again.body.builds[0].commit, built.commit);
  assert.notEqual(again.body.builds[0].id, built.id, 'not reused');
  assert.equal((await apiCall(bw.s, token, 'POST', `/builds/${again.body.builds[0].id}/cancel`)).status, 202);
  await waitBuild(bw.s, token, again.body.builds[0].id);
  for (const p of later) await pullImage(bw.s.url, credsOf(bw.w.acmeViewer), p.repository, p.commit);
  assert.equal((await fsckNow({ s: bw.s, w: bw.w })).exitCode, 0);
});
