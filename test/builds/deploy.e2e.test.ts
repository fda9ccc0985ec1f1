import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeGitRepo, type TestRepo } from '../support/git-repos.ts';
import { apiCall, basic } from '../support/world.ts';
import { makeBuildWorld, waitBuild, dockerfile, timelineSettled, type BuildWorld } from './support.ts';

// The builder end to end: a git repository becomes <ns>/<app>.<repo>:<commit>, with logs and a timeline.
let bw: BuildWorld;
let repo: TestRepo;
let token: string;
let first: string;

before(async () => {
  bw = await makeBuildWorld();
  token = bw.w.acmeOwner.token;
  repo = await makeGitRepo(join(bw.tmp, 'Shop-Web.git'), { Dockerfile: dockerfile(bw.base), 'hello.txt': 'hello v1\n' }, { message: 'first commit' });
  first = repo.head();
});
after(async () => bw.stop());

test('create an application and a service; the image repository is named <ns>/<app>.<repo>', async () => {
  const app = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps', { name: 'Shop', env: { GREETING: 'hello-from-env' } });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const svc = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/services', { name: 'web', gitUrl: repo.url, branch: 'main', buildArgs: { FLAVOR: 'vanilla' } });
  assert.equal(svc.status, 201, JSON.stringify(svc.body));
  assert.equal(svc.body.repository, 'acme/shop.shop-web');
  const viewer = await apiCall(bw.s, bw.w.acmeViewer.token, 'POST', '/accounts/acme/apps/shop/services', { name: 'x', gitUrl: repo.url });
  assert.equal(viewer.status, 403);
  const bad = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/services', { name: 'bad', gitUrl: 'ext::sh -c touch% /tmp/pwned' });
  assert.equal(bad.status, 400);
});

test('deploy builds the head commit; the image carries labels and is pullable by commit', async () => {
  const d = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/deploy', {});
  assert.equal(d.status, 202, JSON.stringify(d.body));
  assert.equal(d.body.builds.length, 1);
  const b = await waitBuild(bw.s, token, d.body.builds[0].id);
  assert.equal(b.status, 'succeeded', b.error);
  assert.equal(b.commit, first);
  assert.equal(b.image, `${bw.s.host}/acme/shop.shop-web:${first}`);
  assert.match(b.imageDigest, /^sha256:/);
  assert.match(b.imageId, /^sha256:/);
  assert.ok(b.layerCount >= 2);
  assert.deepEqual(b.phases.map((p: any) => p.name), ['queued', 'fetching', 'building', 'pushing']);
  assert.ok(b.phases.every((p: any) => p.endedAt));
  // Pull through the registry as the viewer and check the labels in the config.
  const v = bw.w.acmeViewer.registry;
  const m = await fetch(`${bw.s.url}/v2/acme/shop.shop-web/manifests/${first}`, { headers: { authorization: basic(v.username, v.password), accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(m.status, 200);
  assert.equal(m.headers.get('docker-content-digest'), b.imageDigest);
  const manifest = await m.json() as any;
  const cfg = await (await fetch(`${bw.s.url}/v2/acme/shop.shop-web/blobs/${manifest.config.digest}`, { headers: { authorization: basic(v.username, v.password) } })).json() as any;
  assert.equal(cfg.config.Labels['org.opencontainers.image.revision'], first);
  assert.equal(cfg.config.Labels['org.opencontainers.image.source'], repo.url);
  assert.ok(cfg.config.Labels['org.opencontainers.image.created']);
  // The log has phase markers and the engine's output.
  const log = await apiCall(bw.s, token, 'GET', `/builds/${b.id}/log`);
  const phases = log.body.lines.filter((l: any) => l.phase).map((l: any) => l.phase);
  assert.deepEqual(phases, ['fetching', 'building', 'pushing']);
  assert.ok(log.body.lines.some((l: any) => /STEP|COMMIT|Writing manifest|Copying/i.test(l.text)), 'engine output is in the log');
});

test('the timeline lists the deployment (Application Deployed) and the build, newest first', async () => {
  const t = { body: await timelineSettled(bw.s, token, '/accounts/acme/apps/shop') };
  const dep = t.body.find((e: any) => e.kind === 'deployment');
  assert.equal(dep.title, 'Application Deployed');
  assert.equal(dep.status, 'succeeded');
  assert.equal(dep.services[0].commit, first);
  assert.equal(dep.services[0].image, `${bw.s.host}/acme/shop.shop-web:${first}`);
  const build = t.body.find((e: any) => e.kind === 'build');
  assert.equal(build.shortCommit, first.slice(0, 7));
  assert.equal(build.commitMessage, 'first commit');
  assert.equal(build.commitAuthor, 'Test Author <author@test.local>');
  assert.equal(build.trigger, 'api');
  assert.equal(build.triggeredBy, 'owner@acme.test');
  assert.ok(build.durationMs > 0);
  assert.ok(build.logUrl.endsWith('/log'));
});

test('deploying an unchanged commit builds nothing', async () => {
  const before = await apiCall(bw.s, token, 'GET', '/accounts/acme/apps/shop/builds');
  const d = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/deploy', {});
  assert.equal(d.status, 202);
  assert.equal(d.body.deployment.status, 'succeeded');
  assert.equal(d.body.builds[0].id, before.body[0].id);
  const after = await apiCall(bw.s, token, 'GET', '/accounts/acme/apps/shop/builds');
  assert.equal(after.body.length, before.body.length);
});

test('a second commit gives a second tag and the first stays pullable', async () => {
  const second = await repo.commit({ 'hello.txt': 'hello v2\n' }, 'second commit');
  const d = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/deploy', {});
  const b = await waitBuild(bw.s, token, d.body.builds[0].id);
  assert.equal(b.status, 'succeeded', b.error);
  assert.equal(b.commit, second);
  const v = bw.w.acmeViewer.registry;
  const tags = await (await fetch(`${bw.s.url}/v2/acme/shop.shop-web/tags/list`, { headers: { authorization: basic(v.username, v.password) } })).json() as any;
  assert.deepEqual(tags.tags.sort(), [first, second].sort());
  const images = await apiCall(bw.s, token, 'GET', '/accounts/acme/apps/shop/images');
  assert.deepEqual(images.body.map((i: any) => i.commit), [second, first]);
});

test('rebuild builds the same commit again on request', async () => {
  const list = await apiCall(bw.s, token, 'GET', '/accounts/acme/apps/shop/builds');
  const r = await apiCall(bw.s, token, 'POST', `/builds/${list.body[0].id}/rebuild`);
  assert.equal(r.status, 202);
  assert.equal(r.body.rebuildOf, list.body[0].id);
  const b = await waitBuild(bw.s, token, r.body.id);
  assert.equal(b.status, 'succeeded', b.error);
  assert.equal(b.commit, list.body[0].commit);
});

test('a broken Dockerfile fails the build and the deployment, and the log shows the engine error', async () => {
  await repo.commit({ Dockerfile: `FROM ${bw.base}\nRUN echo about-to-fail && exit 3\n` }, 'break it');
  const d = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/shop/deploy', {});
  const b = await waitBuild(bw.s, token, d.body.builds[0].id);
  assert.equal(b.status, 'failed');
  assert.match(b.error, /build failed/i);
  const log = await apiCall(bw.s, token, 'GET', `/builds/${b.id}/log`);
  const text = log.body.lines.map((l: any) => l.text).join('\n');
  assert.match(text, /about-to-fail/);
  assert.match(text, /exit status 3|exit code 3|error building|returned a non-zero code/i);
  // The deployment concludes right after its last build: poll briefly.
  let dep: any;
  for (let i = 0; i < 50; i++) {
    const t = await apiCall(bw.s, token, 'GET', '/accounts/acme/apps/shop/timeline');
    dep = t.body.find((e: any) => e.kind === 'deployment' && e.status !== 'succeeded');
    if (dep.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(dep.status, 'failed');
  assert.match(dep.error, /web: failed/);
});

test('another account cannot see the application or pull its images', async () => {
  const g = bw.w.globexDev;
  assert.equal((await apiCall(bw.s, g.token, 'GET', '/accounts/acme/apps/shop')).status, 404);
  const list = await apiCall(bw.s, token, 'GET', '/accounts/acme/apps/shop/builds');
  assert.equal((await apiCall(bw.s, g.token, 'GET', `/builds/${list.body[0].id}`)).status, 404);
  const m = await fetch(`${bw.s.url}/v2/acme/shop.shop-web/manifests/${first}`, { headers: { authorization: basic(g.registry.username, g.registry.password) } });
  assert.equal(m.status, 404);
});
