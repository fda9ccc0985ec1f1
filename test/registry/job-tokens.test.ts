import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient } from '../../src/oci/client.ts';
import { buildInput, commitOf, seed } from '../../src/metadata/suite-fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, apiCall, pushRandomImage, basic, type World } from '../support/world.ts';

// A job token (the registry password a build pushes with) may push exactly one tag — its build's commit — to its
// repository, never delete, and stops working when its build ends. Obtained the way a worker obtains it: a worker
// token claims the build and asks for its context.
let s: TestServer;
let w: World;
let workerToken: string;

before(async () => {
  s = await startTestServer({ buildConcurrency: 0 });
  w = await makeWorld(s);
  const r = await apiCall(s, w.adminToken, 'POST', '/admin/worker-tokens', { name: 'jobs' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  workerToken = r.body.token;
});
after(async () => s.stop());

let slot = 0;
/** Claims queued builds (each in a slot of its own) until `id` is claimed; resolves to the slot that holds it. */
async function claim(id: string): Promise<string> {
  for (;;) {
    const worker = `h/${slot++}`;
    const r = await apiCall(s, workerToken, 'POST', '/worker/claim', { worker });
    assert.ok(r.body.build, `build ${id} was not queued`);
    if (r.body.build.id === id) return worker;
  }
}

/** Queues a build of a fresh account's service, claims it as a worker and returns its job token. */
async function claimedBuild(namespace: string, commit: string | null) {
  const seeded = await seed(s.metadata, namespace);
  const build = await s.metadata.builds.create(buildInput(seeded, seeded.api, { commit }));
  const worker = await claim(build.id);
  const ctx = await apiCall(s, workerToken, 'POST', `/worker/builds/${build.id}/context`, { worker });
  assert.equal(ctx.status, 200, JSON.stringify(ctx.body));
  const jobToken: string = ctx.body.context.jobToken;
  const update = (patch: Record<string, unknown>) => apiCall(s, workerToken, 'POST', `/worker/builds/${build.id}/update`, { worker, patch });
  return { build, jobToken, repo: seeded.api.repository, update, client: new RegistryClient({ baseUrl: s.url, username: 'buildgrid-job', password: jobToken }) };
}

const v2 = (path: string, auth: string, init: RequestInit = {}) =>
  fetch(`${s.url}/v2/${path}`, { ...init, headers: { authorization: auth, ...(init.headers as object) } });

async function bearer(jobToken: string, scope: string): Promise<string> {
  const r = await fetch(`${s.url}/v2/token?service=${encodeURIComponent(s.host)}&scope=${encodeURIComponent(scope)}`, { headers: { authorization: basic('buildgrid-job', jobToken) } });
  assert.equal(r.status, 200);
  return ((await r.json()) as { token: string }).token;
}

test('a job token pushes its commit tag and digests, but no other tag and no delete', async () => {
  const commit = commitOf('a');
  const j = await claimedBuild('jt-one', commit);
  const img = await pushRandomImage(j.client, j.repo, commit);
  const auth = basic('buildgrid-job', j.jobToken);
  const put = (ref: string, a = auth) => v2(`${j.repo}/manifests/${ref}`, a, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal((await put(img.manifestDigest)).status, 201, 'a push by digest is fine');
  for (const tag of ['latest', 'v1', commitOf('b')]) {
    const r = await put(tag);
    assert.equal(r.status, 403, `tag ${tag}`);
    assert.match(((await r.json()) as any).errors[0].message, new RegExp(`only the tag ${commit}`));
  }
  // The token flow is held to the same rule.
  const t = await bearer(j.jobToken, `repository:${j.repo}:pull,push,delete`);
  assert.equal((await put('latest', `Bearer ${t}`)).status, 403);
  assert.equal((await put(commit, `Bearer ${t}`)).status, 201);
  assert.equal((await v2(`${j.repo}/manifests/${img.manifestDigest}`, auth, { method: 'DELETE' })).status, 403);
  assert.equal((await v2(`${j.repo}/manifests/${commit}`, `Bearer ${t}`, { method: 'DELETE' })).status, 403);
  const tags = await v2(`${j.repo}/tags/list`, basic('admin', w.adminToken));
  assert.deepEqual(((await tags.json()) as any).tags, [commit]);
});

test('a build queued by branch binds its token to the commit the worker checked out', async () => {
  const j = await claimedBuild('jt-branch', null);
  const commit = commitOf('c');
  await assert.rejects(pushRandomImage(j.client, j.repo, commit), /may push only/, 'no tag before the commit is known');
  assert.equal((await j.update({ commit })).status, 200);
  await pushRandomImage(j.client, j.repo, commit);
  await assert.rejects(pushRandomImage(j.client, j.repo, commitOf('d')), /may push only the tag/);
});

test('a job token stops working when its build ends', async () => {
  for (const status of ['succeeded', 'failed', 'cancelled'] as const) {
    const commit = commitOf('e');
    const j = await claimedBuild(`jt-end-${status}`, commit);
    await pushRandomImage(j.client, j.repo, commit);
    const t = await bearer(j.jobToken, `repository:${j.repo}:pull,push`);
    assert.equal((await j.update({ status, finishedAt: new Date().toISOString() })).status, 200);
    const basicAuth = basic('buildgrid-job', j.jobToken);
    assert.equal((await v2(`${j.repo}/blobs/uploads/`, basicAuth, { method: 'POST' })).status, 401, `${status}: Basic push`);
    assert.equal((await v2(`${j.repo}/blobs/uploads/`, `Bearer ${t}`, { method: 'POST' })).status, 401, `${status}: bearer push`);
    assert.equal((await v2(`${j.repo}/manifests/${commit}`, basicAuth)).status, 401, `${status}: pull`);
  }
});

test('a reclaimed build\'s old job token stops working; the new claim\'s token works', async () => {
  const commit = commitOf('f');
  const j = await claimedBuild('jt-reclaim', commit);
  // The heartbeat is lost: the scheduler requeues the build (attempt 1 of 2), and another worker claims it.
  await s.metadata.builds.reclaimStale(new Date(Date.now() + 60_000).toISOString(), 'worker lost');
  assert.equal((await v2(`${j.repo}/blobs/uploads/`, basic('buildgrid-job', j.jobToken), { method: 'POST' })).status, 401, 'requeued');
  const worker = await claim(j.build.id);
  assert.equal((await v2(`${j.repo}/blobs/uploads/`, basic('buildgrid-job', j.jobToken), { method: 'POST' })).status, 401, 'claimed again');
  const ctx = await apiCall(s, workerToken, 'POST', `/worker/builds/${j.build.id}/context`, { worker });
  const fresh = new RegistryClient({ baseUrl: s.url, username: 'buildgrid-job', password: ctx.body.context.jobToken });
  await pushRandomImage(fresh, j.repo, commit);
});

test('a flood of wrong passwords from the builds\' address (loopback) does not fail a job-token push', async () => {
  const commit = commitOf('9');
  const j = await claimedBuild('jt-flood', commit);
  // What a hostile RUN step can do: it shares the loopback source address with every build's push.
  for (let i = 0; i < 30; i++) {
    for (const user of ['buildgrid-job', `guess-${i}`]) {
      const r = await v2('', basic(user, i % 2 ? `bgj_forged${i}.x` : `wrong-${i}`));
      assert.ok([401, 429].includes(r.status));
    }
  }
  assert.equal((await v2('', basic('buildgrid-job', 'wrong'))).status, 429, 'the flood did lock its own guesses out');
  await pushRandomImage(j.client, j.repo, commit);
  assert.equal((await bearer(j.jobToken, `repository:${j.repo}:pull,push`)).length > 0, true);
});
