import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeGitRepo } from '../support/git-repos.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { apiCall, makeWorld, type World } from '../support/world.ts';

// A node that dies between a build's final update and concluding its deployment (the update is committed, the
// conclusion never runs) must not leave the deployment running forever: a live node concludes it at its next re-check.
let s: TestServer;
let w: World;
let tmp: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bg-recheck-'));
  s = await startTestServer({ buildConcurrency: 0, buildStaleSeconds: 1, allowLocalGit: true });
  w = await makeWorld(s);
});
after(async () => {
  await s.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function deploymentStatus(token: string, id: string): Promise<string> {
  const t = await apiCall(s, token, 'GET', '/accounts/acme/apps/shop/timeline');
  return t.body.find((e: any) => e.kind === 'deployment' && e.id === id)?.status;
}

test('a deployment whose builds all finished without concluding it is concluded by the periodic re-check', async () => {
  const token = w.acmeOwner.token;
  assert.equal((await apiCall(s, token, 'POST', '/accounts/acme/apps', { name: 'shop' })).status, 201);
  for (const svc of ['web', 'api']) {
    const repo = await makeGitRepo(join(tmp, svc), { Dockerfile: 'FROM scratch\n' });
    assert.equal((await apiCall(s, token, 'POST', '/accounts/acme/apps/shop/services', { name: svc, gitUrl: repo.url })).status, 201);
  }
  const dep = await apiCall(s, token, 'POST', '/accounts/acme/apps/shop/deploy', {});
  assert.equal(dep.status, 202, JSON.stringify(dep.body));
  const id = dep.body.deployment.id as string;
  // No workers here (buildConcurrency 0): finish both builds behind the deployer's back, as a dying node would.
  const [a, b] = dep.body.builds.map((x: any) => x.id as string) as [string, string];
  await s.metadata.builds.update(a, { status: 'succeeded', finishedAt: new Date().toISOString() });
  assert.equal(await deploymentStatus(token, id), 'running');
  await s.metadata.builds.update(b, { status: 'failed', error: 'engine exited 1', finishedAt: new Date().toISOString() });
  let status = 'running';
  for (let i = 0; i < 40 && status === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = await deploymentStatus(token, id);
  }
  assert.equal(status, 'failed', 'concluded within a few seconds, failed because one build failed');
  const t = await apiCall(s, token, 'GET', '/accounts/acme/apps/shop/timeline');
  assert.match(t.body.find((e: any) => e.id === id).error, /engine exited 1/);
});
