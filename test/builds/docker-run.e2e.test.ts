import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeGitRepo } from '../support/git-repos.ts';
import { apiCall } from '../support/world.ts';
import { tryStartDockerd, type Dockerd } from '../harness/dockerd.ts';
import { skipOrFail } from '../harness/require.ts';
import { makeBuildWorld, waitBuild, dockerfile, type BuildWorld } from './support.ts';

// The promise, whole: deploy from git, then `docker pull` + `docker run` of <host>/<ns>/<app>.<repo>:<sha>
// with the user's BuildGrid credentials prints what the Dockerfile put there.
let bw: BuildWorld;
let dockerd: Dockerd | null = null;
let skipReason = '';

before(async () => {
  bw = await makeBuildWorld();
  const started = await tryStartDockerd();
  if (started.ok) dockerd = started.dockerd;
  else skipReason = started.reason; // the build itself still runs; only docker pull/run skips (or fails in CI)
});
after(async () => {
  await dockerd?.stop();
  await bw.stop();
});

test('a built image pulls and runs with the Docker Engine using the viewer\'s BuildGrid credentials', async (t) => {
  const token = bw.w.acmeOwner.token;
  const repo = await makeGitRepo(join(bw.tmp, 'api'), { Dockerfile: dockerfile(bw.base), 'hello.txt': 'hello from git\n' });
  await apiCall(bw.s, token, 'POST', '/accounts/acme/apps', { name: 'Store', env: { GREETING: 'hi-env' } });
  await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/store/services', { name: 'api', gitUrl: repo.url, buildArgs: { FLAVOR: 'mint' } });
  const d = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/store/deploy', {});
  const b = await waitBuild(bw.s, token, d.body.builds[0].id);
  assert.equal(b.status, 'succeeded', b.error);
  const image = `${bw.s.host}/acme/store.api:${repo.head()}`;
  assert.equal(b.image, image);
  if (!dockerd) return skipOrFail(t, 'dockerd', skipReason);
  const v = bw.w.acmeViewer.registry;
  const login = await dockerd.run(['login', bw.s.host, '-u', v.username, '--password-stdin'], { input: `${v.password}\n` });
  assert.equal(login.code, 0, login.stderr);
  const pull = await dockerd.run(['pull', image]);
  assert.equal(pull.code, 0, pull.stderr);
  const run = await dockerd.run(['run', '--rm', '--network', 'host', image]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'greeting=hi-env\nflavor=mint\nhello from git\n');
  const inspect = await dockerd.run(['image', 'inspect', '--format', '{{.Id}}', image]);
  assert.equal(inspect.stdout.trim(), b.imageId, 'the image ID BuildGrid reports is the one docker sees');
  const g = bw.w.globexDev.registry;
  await dockerd.run(['logout', bw.s.host]);
  await dockerd.run(['login', bw.s.host, '-u', g.username, '--password-stdin'], { input: `${g.password}\n` });
  await dockerd.run(['rmi', image]);
  const denied = await dockerd.run(['pull', image]);
  assert.notEqual(denied.code, 0, 'another account cannot pull it');
});
