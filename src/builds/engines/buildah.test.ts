// The buildah engine against real buildah (Debian 1.28, root, chroot isolation) and a real BuildGrid registry.
// Needs root, buildah, skopeo and busybox-static.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAppError } from '../../core/errors.ts';
import { run } from '../../../test/harness/tools.ts';
import { CACHE_TAG, createBuildahEngine, type BuildahEngine } from './buildah.ts';
import { processesMentioning, report, startEngineWorld, type EngineWorld } from './testing/fixture.ts';

let w: EngineWorld;
let engine: BuildahEngine;
let workDir: string;

before(async () => {
  w = await startEngineWorld('bg-bah-');
  workDir = join(w.root, 'buildah');
  // BUILDGRID_BUILDAH_DRIVER=vfs|overlay and BUILDGRID_BUILDAH_NS=0 exercise the other configurations.
  engine = engineOn(workDir);
});

/** An engine on `dir` (a second one on the same dir stands for the process after a restart). */
function engineOn(dir: string): BuildahEngine {
  const driver = process.env.BUILDGRID_BUILDAH_DRIVER;
  return createBuildahEngine({
    workDir: dir,
    ...(driver === 'vfs' || driver === 'overlay' ? { storageDriver: driver } : {}),
    ...(process.env.BUILDGRID_BUILDAH_NS === '0' ? { mountNamespace: false } : {}),
  });
}

after(async () => {
  // No buildah (or RUN process) of ours may survive the suite; the fixture removes workDir (unmounting leftovers).
  const left = processesMentioning(workDir);
  await w?.cleanup();
  assert.deepEqual(left, [], 'processes still referring to the work dir');
});

/** The multi-stage app: ARG, RUN, COPY, COPY --from; a slow RUN before the file that changes between builds. */
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

const localImages = async (cacheKey: string, driver: string): Promise<string[]> => {
  const dir = engine.cacheDir(cacheKey);
  const r = await run('buildah', ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', driver, 'images', '--all', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout || '[]') as Array<{ names?: string[] | null }>).flatMap((i) => i.names ?? ['<none>']);
};

test('check() finds buildah and picks a storage driver', async () => {
  await engine.check();
  const driver = await engine.storageDriver();
  assert.ok(driver === 'overlay' || driver === 'vfs');
  console.log(`# buildah storage driver: ${driver}; private mount namespace: ${await engine.usesMountNamespace()}`);
  const missing = createBuildahEngine({ workDir: join(w.root, 'missing'), buildah: '/nonexistent/buildah' });
  await assert.rejects(missing.check(), (e: unknown) => isAppError(e, 'INVALID') && /install buildah: apt-get install buildah/.test(e.message));
});

test('builds a multi-stage Dockerfile with build args and labels, pushes it, and reuses the layer cache on the next build', async () => {
  const ctx = await w.context('app', { 'Dockerfile': dockerfile(w.base), 'static.txt': 'static\n', 'app.txt': 'version 1\n' });
  const labels = { 'org.opencontainers.image.revision': 'a'.repeat(40), 'buildgrid.service': 'web' };
  const repo = 'acme/shop.web';

  const req1 = w.request(ctx, { repo, tag: 'v1', cacheKey: 'svc-web', buildArgs: { GREETING: 'howdy' }, labels });
  let t0 = Date.now();
  const r1 = await engine.buildAndPush(req1);
  const first = Date.now() - t0;
  report('buildah first build (cold cache)', first);

  assert.deepEqual(req1.phases, ['pushing']);
  assert.ok(req1.lines.some((l) => /STEP \d+\/\d+: RUN sleep 2/.test(l)), req1.lines.join('\n'));
  const m1 = await w.manifest(repo, 'v1');
  assert.equal(m1.status, 200);
  assert.equal(m1.digest, r1.manifestDigest);
  assert.equal(m1.computed, r1.manifestDigest);
  assert.equal(m1.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  const cfg = await w.config(repo, 'v1');
  for (const [k, v] of Object.entries(labels)) assert.equal(cfg.config.Labels[k], v, `label ${k}`);
  assert.deepEqual(cfg.config.Cmd, ['cat', '/combined.txt']);
  assert.equal(await w.fileInImage(repo, 'v1', '/greeting.txt'), 'howdy from the build stage\n');
  assert.equal(await w.fileInImage(repo, 'v1', '/combined.txt'), 'version 1\nstatic\n');

  const driver = await engine.storageDriver();
  const after1 = await localImages('svc-web', driver);
  assert.ok(!after1.some((n) => n.startsWith('localhost/buildgrid-build:')), `local tag removed: ${after1.join(', ')}`);
  assert.ok(after1.includes(CACHE_TAG), `cache name kept: ${after1.join(', ')}`);
  assert.ok(after1.filter((n) => n === '<none>').length >= 6, `intermediate images kept: ${after1.join(', ')}`);
  if (await engine.usesMountNamespace()) {
    assert.ok(existsSync(join(engine.cacheDir('svc-web'), 'bic', 'blob-info-cache-v1.boltdb')), 'blob-info cache kept in the cache dir');
  }

  // Second build: one file changed — everything before `COPY app.txt` comes from the cache (including the slow RUN).
  await writeFile(join(ctx, 'app.txt'), 'version 2\n');
  const req2 = w.request(ctx, { repo, tag: 'v2', cacheKey: 'svc-web', buildArgs: { GREETING: 'howdy' }, labels });
  t0 = Date.now();
  const r2 = await engine.buildAndPush(req2);
  const second = Date.now() - t0;
  report('buildah second build (one file changed, warm cache)', second);
  const slowIdx = req2.lines.findIndex((l) => /STEP \d+\/\d+: RUN sleep 2/.test(l));
  assert.ok(slowIdx >= 0);
  assert.match(req2.lines[slowIdx + 1] ?? '', /Using cache/, req2.lines.join('\n'));
  assert.ok(req2.lines.filter((l) => /Using cache/.test(l)).length >= 3, req2.lines.join('\n'));
  assert.ok(second < first, `warm build (${second} ms) should be faster than cold (${first} ms)`);
  assert.notEqual(r2.manifestDigest, r1.manifestDigest);
  assert.equal((await w.manifest(repo, 'v2')).digest, r2.manifestDigest);
  assert.equal(await w.fileInImage(repo, 'v2', '/combined.txt'), 'version 2\nstatic\n');
  assert.equal(await w.fileInImage(repo, 'v2', '/slow.txt'), 'slow step done\n');
});

test('a failing RUN and an unknown instruction fail with a useful message; the log has buildah\'s error', async () => {
  const ctx = await w.context('bad-run', { 'Dockerfile': `FROM ${w.base}\nRUN echo about to fail && false\n` });
  const req = w.request(ctx, { repo: 'acme/shop.bad', tag: 'x1', cacheKey: 'svc-bad' });
  await assert.rejects(engine.buildAndPush(req), (e: unknown) => {
    assert.ok(isAppError(e, 'INVALID'));
    assert.match(e.message, /^build failed: .*RUN echo about to fail && false/);
    console.log(`# failing RUN → ${e.message}`);
    return true;
  });
  assert.ok(req.lines.some((l) => l.includes('about to fail')), 'RUN output streamed');
  assert.ok(req.lines.some((l) => /^Error: /.test(l)), req.lines.join('\n'));
  assert.deepEqual(req.phases, []);

  const ctx2 = await w.context('bad-syntax', { 'Dockerfile': `FROM ${w.base}\nFROBNICATE everything\n` });
  const req2 = w.request(ctx2, { repo: 'acme/shop.bad', tag: 'x2', cacheKey: 'svc-bad' });
  await assert.rejects(engine.buildAndPush(req2), (e: unknown) => {
    assert.ok(isAppError(e, 'INVALID'));
    assert.match(e.message, /^build failed: .*(unknown instruction|FROBNICATE)/i);
    console.log(`# unknown instruction → ${e.message}`);
    return true;
  });
  assert.ok(req2.lines.some((l) => /FROBNICATE/i.test(l)), req2.lines.join('\n'));

  // A short name is not sent to docker.io (no search registries, no host aliases).
  const ctx3 = await w.context('short', { 'Dockerfile': 'FROM busybox\nRUN true\n' });
  const req3 = w.request(ctx3, { repo: 'acme/shop.bad', tag: 'x3', cacheKey: 'svc-bad' });
  await assert.rejects(engine.buildAndPush(req3), (e: unknown) => {
    assert.ok(isAppError(e, 'INVALID'));
    assert.match(e.message, /^build failed: .*busybox/);
    console.log(`# short name → ${e.message}`);
    return true;
  });
  // (Without the mount namespace the host's short-name aliases in /etc/containers/registries.conf.d still apply.)
  if (await engine.usesMountNamespace()) assert.ok(!req3.lines.some((l) => /docker\.io/.test(l)), req3.lines.join('\n'));

  const images = await localImages('svc-bad', await engine.storageDriver());
  assert.ok(!images.some((n) => n.startsWith('localhost/buildgrid-build:')), images.join(', '));
});

test('the registry password never reaches the log; build args are visible to RUN', async () => {
  const ctx = await w.context('secret', { 'Dockerfile': `FROM ${w.base}\nARG LEAK\nRUN echo "leak=$LEAK"\n` });
  const req = w.request(ctx, { repo: 'acme/shop.secret', tag: 's1', cacheKey: 'svc-secret', buildArgs: { LEAK: w.creds.password } });
  await engine.buildAndPush(req);
  const all = req.lines.join('\n');
  assert.ok(!all.includes(w.creds.password));
  assert.match(all, /leak=\*\*\*/);
});

test('cancel during a RUN kills buildah and its RUN processes within seconds; the next build of the key works', async () => {
  const ctx = await w.context('slow', { 'Dockerfile': `FROM ${w.base}\nRUN echo started-sleeping && sleep 30\n` });
  const ac = new AbortController();
  const req = w.request(ctx, { repo: 'acme/shop.slow', tag: 'c1', cacheKey: 'svc-slow', signal: ac.signal });
  const p = engine.buildAndPush(req);
  const t0 = Date.now();
  while (!req.lines.some((l) => l.includes('started-sleeping'))) {
    if (Date.now() - t0 > 60_000) throw new Error(`RUN never started:\n${req.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(processesMentioning('sleep 30').length > 0 || processesMentioning(workDir).length > 0, 'build is running');
  const tCancel = Date.now();
  ac.abort();
  await assert.rejects(p, (e: unknown) => isAppError(e, 'INVALID') && e.message === 'build cancelled');
  const took = Date.now() - tCancel;
  report('buildah cancel → rejected', took);
  assert.ok(took < 8_000, `cancel took ${took} ms`);
  assert.deepEqual(processesMentioning(workDir), [], 'no buildah process left');
  assert.deepEqual(processesMentioning('started-sleeping && sleep 30'), [], 'no RUN process left');
  assert.deepEqual(await readdir(join(workDir, 'builds')), [], 'per-build dir removed');

  // Same cache key again (now quick): the leftovers of the killed build do not get in the way.
  await writeFile(join(ctx, 'Dockerfile'), `FROM ${w.base}\nRUN echo fine > /fine.txt\n`);
  const req2 = w.request(ctx, { repo: 'acme/shop.slow', tag: 'c2', cacheKey: 'svc-slow' });
  const r2 = await engine.buildAndPush(req2);
  assert.equal((await w.manifest('acme/shop.slow', 'c2')).digest, r2.manifestDigest);
  const ctrs = await run('buildah', ['--root', join(engine.cacheDir('svc-slow'), 'root'), '--runroot', join(engine.cacheDir('svc-slow'), 'runroot'),
    '--storage-driver', await engine.storageDriver(), 'containers', '--json']);
  assert.deepEqual(JSON.parse(ctrs.stdout || '[]') ?? [], [], 'no working containers left');
});

test('builds of one cache key run one at a time; different keys run in parallel; pruneCache removes a cache', async () => {
  const ctx = await w.context('lock', { 'Dockerfile': `FROM ${w.base}\nARG N\nRUN echo "n=$N" && sleep 1\n` });
  const spans: Record<string, { start: number; end: number }> = {};
  const build = async (name: string, cacheKey: string): Promise<void> => {
    const req = w.request(ctx, { repo: 'acme/shop.lock', tag: name, cacheKey, buildArgs: { N: name } });
    let start = 0;
    const log = req.log;
    req.log = (l) => {
      if (!start) start = Date.now();
      log(l);
    };
    await engine.buildAndPush(req);
    spans[name] = { start, end: Date.now() };
  };
  await Promise.all([build('a', 'svc-lock'), build('b', 'svc-lock'), build('c', 'svc-other')]);
  const [a, b, c] = [spans.a!, spans.b!, spans.c!];
  const [firstDone, second] = a.end <= b.end ? [a, b] : [b, a];
  assert.ok(second.start >= firstDone.end, 'same key serialized');
  assert.ok(c.start < Math.max(a.end, b.end) && c.end > Math.min(a.start, b.start), 'different keys overlap');

  // A build image a crashed process left behind is removed by the first build of the same key in the next process
  // (an engine created afresh on the same work dir, as after a restart).
  const dir = engine.cacheDir('svc-lock');
  const store = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', await engine.storageDriver()];
  const tag = await run('buildah', [...store, 'tag', CACHE_TAG, 'localhost/buildgrid-build:left-behind']);
  assert.equal(tag.code, 0, tag.stderr);
  assert.ok((await localImages('svc-lock', await engine.storageDriver())).includes('localhost/buildgrid-build:left-behind'));
  const restarted = engineOn(workDir);
  await restarted.buildAndPush(w.request(ctx, { repo: 'acme/shop.lock', tag: 'd', cacheKey: 'svc-lock', buildArgs: { N: 'd' } }));
  const names = await localImages('svc-lock', await engine.storageDriver());
  assert.ok(!names.some((n) => n.startsWith('localhost/buildgrid-build:')), names.join(', '));
  assert.ok(names.includes(CACHE_TAG));

  assert.ok(existsSync(engine.cacheDir('svc-other')));
  await engine.pruneCache('svc-other');
  assert.equal(existsSync(engine.cacheDir('svc-other')), false);
  assert.deepEqual(await engine.pruneCaches({ unusedForMs: 60 * 60 * 1000 }), []);
});
