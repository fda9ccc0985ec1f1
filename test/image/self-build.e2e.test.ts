// BuildGrid's own image, built by BuildGrid from its own source, then run with the Docker Engine:
//   1. a stand-in for node:20-bookworm-slim (Debian 12 minbase from Debian's mirror + this host's Node.js, see
//      node-base.ts) is imported into a test BuildGrid as library/node:20-bookworm-slim;
//   2. the working tree as it is now (tracked files, uncommitted edits included) becomes a git repository, an
//      application's service builds its Dockerfile with BASE=<this BuildGrid>/library/node:20-bookworm-slim (the
//      in-process builder, buildah);
//   3. a private dockerd pulls the image with `docker login` / `docker pull` and runs it: `--version`, then `serve`
//      answering /readyz, /v2/ (a challenge), a sign-in (SQLite works) and / (the dashboard);
//   4. with a worker's capabilities, the container builds a small image itself — git and buildah inside it — pushes
//      it to its own registry, and docker runs that.
// Without Debian's mirror or the npm registry 1–4 are skipped; without dockerd 3–4; each with a loud banner.
// Takes ≈ 7 min on two cores, ≈ 1.5 min more when the Debian tarball is not cached yet (in the temp dir); the timings
// are printed at the end.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cp, mkdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test, type TestContext } from 'node:test';
import { output } from '../clients/support.ts';
import { makeBusyboxImage } from '../harness/busybox.ts';
import { tryStartDockerd, type Dockerd } from '../harness/dockerd.ts';
import { skipOrFail } from '../harness/require.ts';
import { freePort, removeTree, tempDir, waitFor, type TempDir } from '../harness/tools.ts';
import { makeGitRepo } from '../support/git-repos.ts';
import { ADMIN, startTestServer, type TestServer } from '../support/server.ts';
import { apiCall, importImage, makeWorld, type World } from '../support/world.ts';
import { baseImageProblem, makeNodeBaseImage } from './node-base.ts';
import { buildOneService, readImage, remoteServer, ROOT, snapshotWorkingTree, type ImageParts } from './support.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const CACHE_DIR = join(tmpdir(), 'buildgrid-test-cache');
const BASE_REPO = 'library/node';
const BASE_TAG = '20-bookworm-slim';
const MINUTE = 60_000;

let tmp: TempDir;
let s: TestServer;
let w: World;
let dockerd: Dockerd | undefined;
/** Why a part could not run here (set once, reported loudly once). */
const skipped: { build?: string; docker?: string } = {};
let built: { image: string; commit: string; parts: ImageParts } | undefined;
const timings: Array<[string, number]> = [];

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings.push([what, (Date.now() - started) / 1000]);
  }
}

before(async () => {
  tmp = await tempDir('bgimg-');
  s = await startTestServer({ allowLocalGit: true, buildConcurrency: 1, buildTimeoutMinutes: 20 });
  w = await makeWorld(s);
  const lib = await apiCall(s, w.adminToken, 'POST', '/accounts', { name: 'library' });
  assert.equal(lib.status, 201, JSON.stringify(lib.body));
});

after(async () => {
  await dockerd?.stop();
  await s?.stop();
  await removeTree(tmp.path);
  if (timings.length) {
    const size = built ? `; image ${(built.parts.compressedBytes / 2 ** 20).toFixed(0)} MiB compressed (${built.parts.manifest.layers.length} layers)` : '';
    console.log(`self-build timings: ${timings.map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}${size}`);
  }
});

function needBuild(t: TestContext): boolean {
  if (built) return true;
  if (skipped.build) skipOrFail(t, 'base-image', skipped.build);
  else t.skip('no image: the build test failed (its failure is the one to read)');
  return false;
}

test('without src/ the launcher runs dist/ (what the image relies on: it ships no sources)', async () => {
  const dir = join(tmp.path, 'launcher');
  await cp(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'dist'));
  await writeFile(join(dir, 'dist', '.built'), '');
  const { compiledIsFresh } = (await import(pathToFileURL(join(dir, 'bin', 'fresh.mjs')).href)) as { compiledIsFresh(): boolean };
  assert.equal(compiledIsFresh(), true, 'dist/.built and no src/: dist is current');
  await mkdir(join(dir, 'src'));
  const later = new Date(Date.now() + 60_000);
  await writeFile(join(dir, 'src', 'x.ts'), '');
  await utimes(join(dir, 'src', 'x.ts'), later, later);
  assert.equal(compiledIsFresh(), false, 'a newer source makes dist stale (a checkout runs its sources)');
});

test(`a Debian 12 + Node.js ${process.versions.node} base image is imported as ${BASE_REPO}:${BASE_TAG}`, { timeout: 15 * MINUTE }, async (t) => {
  const problem = await baseImageProblem();
  if (problem) {
    skipped.build = problem;
    return skipOrFail(t, 'base-image', problem); // the build and docker tests below skip with it
  }
  await timed('base image', async () => {
    const img = await makeNodeBaseImage(join(tmp.path, 'base'), CACHE_DIR);
    t.diagnostic(`Debian rootfs ${img.cachedRootfs ? 'from the cache' : 'made with mmdebstrap'}; ${(img.bytes / 2 ** 20).toFixed(0)} MiB uncompressed`);
    await importImage(s.url, w.adminToken, img.dir, BASE_REPO, BASE_TAG);
  });
  const base = await readImage(s, { username: 'admin', password: w.adminToken }, BASE_REPO, BASE_TAG);
  assert.equal(base.manifest.layers.length, 2);
  assert.deepEqual(base.config.config.Cmd, ['node']);
});

test('BuildGrid builds its own Dockerfile from a snapshot of the working tree', { timeout: 25 * MINUTE }, async (t) => {
  if (skipped.build) return skipOrFail(t, 'base-image', skipped.build);
  const token = w.acmeOwner.token;
  const { repo, files } = await snapshotWorkingTree(join(tmp.path, 'buildgrid'));
  t.diagnostic(`snapshot: ${files} files at ${repo.head()}`);
  assert.equal((await repo.git('ls-files')).trim().split('\n').length, files, 'every file of the working tree is committed');
  const { build: b, service } = await timed('build', () => buildOneService(s, token, {
    account: 'acme', app: 'Platform', timeoutMs: 22 * MINUTE,
    service: { name: 'buildgrid', gitUrl: repo.url, branch: 'main', buildArgs: { BASE: `${s.host}/${BASE_REPO}:${BASE_TAG}` } },
  }));
  for (const p of b.phases as Array<{ name: string; startedAt: string; endedAt: string }>) {
    t.diagnostic(`  ${p.name}: ${((Date.parse(p.endedAt) - Date.parse(p.startedAt)) / 1000).toFixed(1)} s`);
  }
  assert.equal(b.commit, repo.head());
  assert.equal(b.image, `${s.host}/${service.repository}:${b.commit}`);
  const parts = await readImage(s, w.acmeViewer.registry, service.repository, b.commit);
  built = { image: b.image, commit: b.commit, parts };
});

test('the image: the launcher runs the CLI, serve by default on 0.0.0.0:5000, data in /data, labelled by BuildGrid', (t) => {
  if (!needBuild(t)) return;
  const { config } = built!.parts.config;
  assert.deepEqual(config.Entrypoint, ['/usr/bin/tini', '--', '/opt/buildgrid/bin/buildgrid.mjs']);
  assert.deepEqual(config.Cmd, ['serve']);
  assert.deepEqual(Object.keys(config.ExposedPorts ?? {}), ['5000/tcp']);
  assert.deepEqual(Object.keys(config.Volumes ?? {}), ['/data']);
  assert.ok(config.Env.includes('BUILDGRID_DATA_DIR=/data'), config.Env.join(' '));
  assert.ok(config.Env.includes('BUILDGRID_HOST=0.0.0.0'), config.Env.join(' '));
  assert.equal(config.Labels['org.opencontainers.image.revision'], built!.commit);
  t.diagnostic(`${(built!.parts.compressedBytes / 2 ** 20).toFixed(1)} MiB compressed in ${built!.parts.manifest.layers.length} layers`);
});

/** The running engine, started on first use, or undefined after a loud skip. */
async function engine(t: TestContext): Promise<Dockerd | undefined> {
  if (!needBuild(t)) return undefined;
  if (!dockerd && !skipped.docker) {
    const started = await tryStartDockerd();
    if (started.ok) dockerd = started.dockerd;
    else skipped.docker = started.reason;
  }
  if (!dockerd) skipOrFail(t, 'dockerd', skipped.docker ?? 'dockerd did not start');
  return dockerd;
}

test('docker login + pull with BuildGrid credentials; `docker run IMAGE --version` prints the package version', { timeout: 10 * MINUTE }, async (t) => {
  const d = await engine(t);
  if (!d) return;
  const v = w.acmeViewer.registry;
  const login = await d.run(['login', s.host, '-u', v.username, '--password-stdin'], { input: `${v.password}\n` });
  assert.equal(login.code, 0, output(login));
  const pull = await timed('docker pull', () => d.run(['pull', built!.image], { timeoutMs: 8 * MINUTE }));
  assert.equal(pull.code, 0, output(pull));
  const size = await d.run(['image', 'inspect', '--format', '{{.Size}}', built!.image]);
  t.diagnostic(`${(Number(size.stdout.trim()) / 2 ** 20).toFixed(0)} MiB unpacked`);
  const version = await timed('docker run --version', () => d.run(['run', '--rm', '--network', 'host', built!.image, '--version']));
  assert.equal(version.code, 0, output(version));
  assert.equal(version.stdout.trim(), VERSION);
});

test('the image holds what a worker runs (git, buildah, unshare, ssh-keygen…) and no src/', { timeout: 5 * MINUTE }, async (t) => {
  const d = await engine(t);
  if (!d) return;
  const tools = ['git', 'buildah', 'unshare', 'mount', 'ssh-keygen', 'newuidmap', 'fuse-overlayfs', 'runc', 'slirp4netns', 'ip'];
  const script = `ls /opt/buildgrid; for b in ${tools.join(' ')}; do command -v "$b" >/dev/null || echo "missing: $b"; done; buildah --version`;
  const r = await d.run(['run', '--rm', '--network', 'host', '--entrypoint', 'sh', built!.image, '-c', script]);
  assert.equal(r.code, 0, output(r));
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 5), ['bin', 'dist', 'node_modules', 'package.json', 'web'], output(r));
  assert.deepEqual(lines.filter((l) => l.startsWith('missing:')), []);
  assert.match(lines.at(-1)!, /^buildah version /);
});

/**
 * Runs the built image detached on the host network with `serve` on a free port (the first administrator is ADMIN),
 * waits for /readyz, runs `fn` with its URLs, then removes the container and its volume. `dockerArgs` go before the
 * image name.
 */
async function withServeContainer(
  d: Dockerd, what: string, dockerArgs: string[],
  fn: (c: { id: string; url: string; port: number; server: TestServer }) => Promise<void>,
): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const r = await d.run(['run', '-d', '--network', 'host', '-e', `BUILDGRID_PORT=${port}`, '-e', `BUILDGRID_ADMIN_EMAIL=${ADMIN.email}`,
    '-e', `BUILDGRID_ADMIN_PASSWORD=${ADMIN.password}`, ...dockerArgs, built!.image]);
  assert.equal(r.code, 0, output(r));
  const id = r.stdout.trim();
  try {
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, {
      timeoutMs: 3 * MINUTE, intervalMs: 250, what: `/readyz of the container (${what})`,
      describe: async () => output(await d.run(['logs', '--tail', '60', id])),
    });
    timings.push([`${what} → ready`, (Date.now() - started) / 1000]);
    await fn({ id, url, port, server: remoteServer(url) });
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- container log (end) ---\n${output(await d.run(['logs', '--tail', '40', id]))}`;
    throw e;
  } finally {
    const rm = await d.run(['rm', '-f', '-v', id]);
    assert.equal(rm.code, 0, output(rm));
  }
}

test('`docker run -d IMAGE` serves: /readyz 200, /v2/ 401 with a challenge, sign-in, and the dashboard at /', { timeout: 5 * MINUTE }, async (t) => {
  const d = await engine(t);
  if (!d) return;
  await withServeContainer(d, 'docker run serve', [], async ({ id, url, port, server }) => {
    // PID 1 is tini (it reaps orphans); its child is node as the launcher's #! line starts it (BuildGrid's memory
    // settings), not a bare `node`.
    const proc = await d.run(['exec', id, 'sh', '-c', [
      'tr "\\0" " " < /proc/1/cmdline; echo',
      'for p in /proc/[0-9]*; do c=$(tr "\\0" " " < $p/cmdline 2>/dev/null); case "$c" in "node "*) echo "$c"; tr "\\0" "\\n" < $p/environ | grep ^MALLOC_;; esac; done',
    ].join('; ')]);
    assert.equal(proc.code, 0, output(proc));
    assert.deepEqual(proc.stdout.trim().split('\n').map((l) => l.trim()), [
      '/usr/bin/tini -- /opt/buildgrid/bin/buildgrid.mjs serve', 'node --max-semi-space-size=2 /opt/buildgrid/bin/buildgrid.mjs serve', 'MALLOC_MMAP_THRESHOLD_=4194304',
    ]);
    const v2 = await fetch(`${url}/v2/`);
    assert.equal(v2.status, 401);
    assert.match(v2.headers.get('www-authenticate') ?? '', new RegExp(`^Bearer realm="http://localhost:${port}/v2/token",service="[^"]+"`));
    const signIn = await apiCall(server, null, 'POST', '/auth/login', ADMIN);
    assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    const title = /<title>[^<]*<\/title>/.exec(readFileSync(join(ROOT, 'web', 'index.html'), 'utf8'))?.[0];
    assert.ok(title && html.includes(title), `the dashboard's index.html (${title}) is served:\n${html.slice(0, 400)}`);
    const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'index.html loads the built bundle');
    assert.equal((await fetch(`${url}${script}`)).status, 200, `${script} is served`);
  });
});

// Workers need mounts and namespaces: docs/kubernetes.md gives `privileged` or a list of capabilities. The list is
// what runs here — the tighter of the two, and `--privileged` cannot start on this machine, whose own capability set
// lacks CAP_SYS_RESOURCE ("unable to apply caps").
// The build sandbox adds what runc and slirp4netns need: NET_ADMIN and /dev/net/tun (each build's network namespace)
// and a writable cgroup filesystem (per-step memory, CPU and pids limits).
const WORKER_PRIVILEGES = ['--cap-add', 'SYS_ADMIN', '--cap-add', 'SETUID', '--cap-add', 'SETGID', '--cap-add', 'MKNOD',
  '--cap-add', 'NET_ADMIN', '--device', '/dev/net/tun', '--cgroupns', 'host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
  '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined'];

test('with a worker\'s capabilities the image builds images itself (git, buildah inside), pushes to its own registry; that runs', { timeout: 8 * MINUTE }, async (t) => {
  const d = await engine(t);
  if (!d) return;
  const busybox = await makeBusyboxImage(join(tmp.path, 'busybox'));
  const repo = await makeGitRepo(join(tmp.path, 'hello'), {}); // the Dockerfile names the container's port: written below
  await withServeContainer(d, 'docker run (worker capabilities) serve', [...WORKER_PRIVILEGES, '-v', `${repo.path}:${repo.path}:ro`, '-e', 'BUILDGRID_ALLOW_LOCAL_GIT=true'], async ({ port, server }) => {
    const registry = `localhost:${port}`; // the container's publicUrl: where its builds push and pull
    await repo.commit({ Dockerfile: `FROM ${registry}/library/busybox:1\nRUN echo built inside the BuildGrid image > /inside.txt\nCMD ["cat", "/inside.txt"]\n` }, 'hello');
    const token = (await apiCall(server, null, 'POST', '/auth/login', ADMIN)).body.token as string;
    for (const name of ['library', 'acme']) assert.equal((await apiCall(server, token, 'POST', '/accounts', { name })).status, 201);
    await importImage(server.url, token, busybox.layoutDir, 'library/busybox', '1');
    const { build: b } = await timed('build inside the container', () => buildOneService(server, token, {
      account: 'acme', app: 'Hello', timeoutMs: 5 * MINUTE, service: { name: 'web', gitUrl: repo.url, branch: 'main' },
    }));
    const login = await d.run(['login', registry, '-u', 'admin', '--password-stdin'], { input: `${token}\n` });
    assert.equal(login.code, 0, output(login));
    const hello = await d.run(['run', '--rm', '--network', 'host', b.image]);
    assert.equal(hello.code, 0, output(hello));
    assert.equal(hello.stdout.trim(), 'built inside the BuildGrid image');
  });
});
