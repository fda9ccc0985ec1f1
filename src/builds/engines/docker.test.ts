// The Docker Engine build engine against a real, private dockerd (Debian's docker.io, vfs, no bridge) and a real
// BuildGrid registry. When dockerd cannot start here the docker tests skip loudly (fail under BUILDGRID_TEST_REQUIRE).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAppError } from '../../core/errors.ts';
import { tryStartDockerd, type Dockerd } from '../../../test/harness/dockerd.ts';
import { skipOrFail } from '../../../test/harness/require.ts';
import type { BuildEngine } from '../types.ts';
import { createDockerEngine } from './docker.ts';
import { processesMentioning, report, startEngineWorld, type EngineWorld } from './testing/fixture.ts';

let w: EngineWorld;
let dockerd: Dockerd | undefined;
let skipReason: string | false = false;
let engine: BuildEngine;

before(async () => {
  w = await startEngineWorld('bg-dke-');
  const started = await tryStartDockerd();
  if (!started.ok) {
    skipReason = started.reason;
    return;
  }
  dockerd = started.dockerd;
  engine = createDockerEngine({ host: dockerd.host, client: dockerd.client, workDir: join(w.root, 'docker-work') });
});

after(async () => {
  await dockerd?.stop();
  await w?.cleanup();
});

const dockerfile = (base: string): string => `
FROM ${base} AS base
ARG GREETING=hello
RUN echo "$GREETING from the build stage" > /greeting.txt
RUN sleep 2 && echo slow step done > /slow.txt
COPY static.txt /static.txt
COPY app.txt /app.txt

FROM ${base}
COPY --from=base /greeting.txt /slow.txt /static.txt /
COPY --from=base /app.txt /app.txt
RUN cat /app.txt /static.txt > /combined.txt
CMD ["cat", "/combined.txt"]
`;

test('check() reaches the daemon; an unreachable daemon gives an actionable message', async (t) => {
  if (skipReason) return skipOrFail(t, 'dockerd', skipReason);
  await engine.check();
  console.log(`# docker: server ${dockerd!.serverVersion}, client ${dockerd!.client}`);
  const nowhere = createDockerEngine({ host: `unix://${join(w.root, 'no-such.sock')}`, client: dockerd!.client });
  await assert.rejects(nowhere.check(), (e: unknown) => isAppError(e, 'INVALID') && /cannot reach the Docker Engine .*start dockerd/.test(e.message));
  const noClient = createDockerEngine({ host: dockerd!.host, client: '/nonexistent/docker' });
  await assert.rejects(noClient.check(), (e: unknown) => isAppError(e, 'INVALID') && /not installed/.test(e.message));
});

test('builds a multi-stage Dockerfile with build args and labels, pushes it, and reuses the daemon cache', async (t) => {
  if (skipReason) return skipOrFail(t, 'dockerd', skipReason);
  const ctx = await w.context('app', { 'Dockerfile': dockerfile(w.base), 'static.txt': 'static\n', 'app.txt': 'version 1\n' });
  const labels = { 'org.opencontainers.image.revision': 'b'.repeat(40), 'buildgrid.service': 'web' };
  const repo = 'acme/shop.docker';

  const req1 = w.request(ctx, { repo, tag: 'v1', cacheKey: 'svc-web', buildArgs: { GREETING: 'howdy' }, labels });
  let t0 = Date.now();
  const r1 = await engine.buildAndPush(req1);
  const first = Date.now() - t0;
  report('docker first build (cold cache)', first);
  assert.deepEqual(req1.phases, ['pushing']);
  const m1 = await w.manifest(repo, 'v1');
  assert.equal(m1.status, 200);
  assert.equal(m1.digest, r1.manifestDigest);
  assert.equal(m1.computed, r1.manifestDigest);
  const cfg = await w.config(repo, 'v1');
  for (const [k, v] of Object.entries(labels)) assert.equal(cfg.config.Labels[k], v, `label ${k}`);
  assert.equal(await w.fileInImage(repo, 'v1', '/greeting.txt'), 'howdy from the build stage\n');
  assert.equal(await w.fileInImage(repo, 'v1', '/combined.txt'), 'version 1\nstatic\n');
  const ls = await dockerd!.run(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.ok(!ls.stdout.includes(`${w.host}/${repo}:v1`), `local tag removed:\n${ls.stdout}`);

  await writeFile(join(ctx, 'app.txt'), 'version 2\n');
  const req2 = w.request(ctx, { repo, tag: 'v2', cacheKey: 'svc-web', buildArgs: { GREETING: 'howdy' }, labels });
  t0 = Date.now();
  const r2 = await engine.buildAndPush(req2);
  const second = Date.now() - t0;
  report('docker second build (one file changed, warm cache)', second);
  const slowIdx = req2.lines.findIndex((l) => /^Step \d+\/\d+ : RUN sleep 2/.test(l));
  assert.ok(slowIdx >= 0, req2.lines.join('\n'));
  assert.match(req2.lines[slowIdx + 1] ?? '', /Using cache/, req2.lines.join('\n'));
  assert.ok(second < first, `warm build (${second} ms) should be faster than cold (${first} ms)`);
  assert.equal((await w.manifest(repo, 'v2')).digest, r2.manifestDigest);
  assert.equal(await w.fileInImage(repo, 'v2', '/combined.txt'), 'version 2\nstatic\n');
});

test('a failing RUN and an unknown instruction fail with the daemon\'s message', async (t) => {
  if (skipReason) return skipOrFail(t, 'dockerd', skipReason);
  const ctx = await w.context('bad-run', { 'Dockerfile': `FROM ${w.base}\nRUN echo about to fail && false\n` });
  const req = w.request(ctx, { repo: 'acme/shop.bad', tag: 'x1', cacheKey: 'svc-bad' });
  await assert.rejects(engine.buildAndPush(req), (e: unknown) => {
    assert.ok(isAppError(e, 'INVALID'));
    assert.match(e.message, /^build failed: .*returned a non-zero code: 1/);
    console.log(`# failing RUN → ${e.message}`);
    return true;
  });
  assert.ok(req.lines.some((l) => l.includes('about to fail')));

  const ctx2 = await w.context('bad-syntax', { 'Dockerfile': `FROM ${w.base}\nFROBNICATE everything\n` });
  const req2 = w.request(ctx2, { repo: 'acme/shop.bad', tag: 'x2', cacheKey: 'svc-bad' });
  await assert.rejects(engine.buildAndPush(req2), (e: unknown) => {
    assert.ok(isAppError(e, 'INVALID'));
    assert.match(e.message, /^build failed: .*unknown instruction: FROBNICATE/i);
    console.log(`# unknown instruction → ${e.message}`);
    return true;
  });
});

test('cancel during a RUN kills the CLI and leaves no build container', async (t) => {
  if (skipReason) return skipOrFail(t, 'dockerd', skipReason);
  const ctx = await w.context('slow', { 'Dockerfile': `FROM ${w.base}\nRUN echo started-sleeping && sleep 30\n` });
  const ac = new AbortController();
  const req = w.request(ctx, { repo: 'acme/shop.slow', tag: 'c1', cacheKey: 'svc-slow', signal: ac.signal });
  const p = engine.buildAndPush(req);
  const t0 = Date.now();
  while (!req.lines.some((l) => l.includes('started-sleeping'))) {
    if (Date.now() - t0 > 60_000) throw new Error(`RUN never started:\n${req.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const tCancel = Date.now();
  ac.abort();
  await assert.rejects(p, (e: unknown) => isAppError(e, 'INVALID') && e.message === 'build cancelled');
  const took = Date.now() - tCancel;
  report('docker cancel → rejected', took);
  assert.ok(took < 10_000, `cancel took ${took} ms`);
  // The daemon removes the RUN container asynchronously after the client is killed: give it a few seconds under load.
  let ps = await dockerd!.run(['ps', '-aq']);
  for (let i = 0; i < 40 && ps.stdout.trim() !== ''; i++) {
    await new Promise((r) => setTimeout(r, 250));
    ps = await dockerd!.run(['ps', '-aq']);
  }
  assert.equal(ps.stdout.trim(), '', 'no containers left');
  assert.deepEqual(processesMentioning('started-sleeping && sleep 30'), [], 'no RUN process left');
});
