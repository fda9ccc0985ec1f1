import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeGitRepo, type TestRepo } from '../support/git-repos.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, apiCall, type World } from '../support/world.ts';
import { waitBuild } from '../builds/support.ts';
import { cli } from '../support/cli.ts';
import type { BusyboxImage } from '../harness/busybox.ts';
import { onlyUpstreams, startCountingUpstream, type CountingUpstream } from './upstream.ts';

// A repository written for Docker (`FROM busybox:1`, a short name) builds unchanged: buildah resolves the short name
// to docker.io/library/busybox:1, its registries.conf sends docker.io to BuildGrid's mirror/docker.io, and the mirror
// fetches it from the stand-in for Docker Hub (docker-registry behind a counting proxy) once. The build's job token is
// what pulls mirror/. A second build of another commit never reaches the upstream.

let up: CountingUpstream;
let s: TestServer;
let w: World;
let repo: TestRepo;
let tmp: string;
let busybox: BusyboxImage;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bg-shortname-'));
  up = await startCountingUpstream();
  busybox = await up.seed('library/busybox', '1');
  s = await startTestServer({
    allowLocalGit: true, buildHeartbeatSeconds: 1, buildStaleSeconds: 20, buildConcurrency: 1,
    upstreams: onlyUpstreams({ 'docker.io': { url: up.url } }), upstreamTagTtlSeconds: 3600,
  });
  w = await makeWorld(s);
  repo = await makeGitRepo(join(tmp, 'plain.git'), { Dockerfile: 'FROM busybox:1\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n', 'hello.txt': 'v1\n' }, { message: 'first' });
  const app = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'plain' });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const svc = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/plain/services', { name: 'web', gitUrl: repo.url, branch: 'main' });
  assert.equal(svc.status, 201, JSON.stringify(svc.body));
});
after(async () => {
  await s?.stop();
  await up?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function deploy(): Promise<any> {
  const d = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/plain/deploy', {});
  assert.equal(d.status, 202, JSON.stringify(d.body));
  return waitBuild(s, w.acmeOwner.token, d.body.builds[0].id);
}

test('FROM busybox:1 builds through the mirror: the base comes from the upstream once', async () => {
  const b = await deploy();
  assert.equal(b.status, 'succeeded', b.error);
  assert.equal(up.count('GET', /^\/v2\/library\/busybox\/manifests\/1$/), 1);
  for (const l of busybox.layers) assert.equal(up.count('GET', new RegExp(`^/v2/library/busybox/blobs/${l.digest}$`)), 1, `layer ${l.digest}`);
  // The cached base is an ordinary repository of the registry now.
  const repoRow = await s.metadata.repositories.get('mirror/docker.io/library/busybox');
  assert.ok(repoRow, 'mirror/docker.io/library/busybox exists');
  assert.equal(await s.metadata.tags.get(repoRow.id, '1'), busybox.manifestDigest);
  // The build records its base image: as written, resolved as Docker would, and the digest used.
  assert.deepEqual(b.baseImages, [{ stage: 0, written: 'busybox:1', resolved: 'docker.io/library/busybox:1', digest: busybox.manifestDigest }]);
});

test('a second build of another commit does not touch the upstream; every stage\'s base is recorded', async () => {
  const dockerfile = [
    'ARG BASE=busybox:1',
    'FROM ${BASE} AS prep',
    'RUN echo prep > /prep',
    `FROM docker.io/library/busybox@${busybox.manifestDigest}`,
    'COPY --from=prep /prep /prep',
    'COPY hello.txt /hello.txt',
    '',
  ].join('\n');
  await repo.commit({ 'hello.txt': 'v2\n', Dockerfile: dockerfile }, 'second');
  const seen = up.requests.length;
  const b = await deploy();
  assert.equal(b.status, 'succeeded', b.error);
  assert.equal(b.commit, repo.head());
  assert.deepEqual(up.requests.slice(seen), []);
  assert.deepEqual(b.baseImages, [
    { stage: 0, written: '${BASE}', resolved: 'docker.io/library/busybox:1', digest: busybox.manifestDigest },
    { stage: 1, written: `docker.io/library/busybox@${busybox.manifestDigest}`, resolved: `docker.io/library/busybox@${busybox.manifestDigest}`, digest: busybox.manifestDigest },
  ]);
  const timeline = await apiCall(s, w.acmeOwner.token, 'GET', '/accounts/acme/apps/plain/timeline');
  assert.deepEqual(timeline.body.find((e: { id: string }) => e.id === b.id)?.baseImages, b.baseImages);
  const env = { BUILDGRID_SERVER: s.url, BUILDGRID_TOKEN: w.acmeOwner.token, XDG_CONFIG_HOME: tmp };
  const shown = await cli(['builds', 'show', b.id, '--json'], env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.ok(shown.json, `not JSON: ${shown.stdout.slice(0, 300)} ${shown.stderr.slice(0, 300)}`);
  assert.deepEqual(shown.json.baseImages, b.baseImages);
  const human = await cli(['builds', 'show', b.id], env);
  assert.match(human.stdout, /Base images:/);
  assert.match(human.stdout, new RegExp(`\\$\\{BASE\\}\\s+docker\\.io/library/busybox:1\\s+${busybox.manifestDigest}`));
  const log = await apiCall(s, w.acmeOwner.token, 'GET', `/builds/${b.id}/log`);
  assert.ok(log.body.lines.some((l: { text: string }) => l.text === `Base image \${BASE} → docker.io/library/busybox:1 ${busybox.manifestDigest}`));
});
