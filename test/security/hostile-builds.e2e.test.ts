// Hostile repositories, built for real: each is a git repository of the `globex` account, added as a service and
// deployed through the API by globex's developer, built by the default buildah engine with its default sandbox. While
// they run, `acme` builds an innocent repository whose build argument NPM_TOKEN is a secret. Every attack must fail or
// find nothing, and acme's build must go on unharmed.
//
// Needs root, buildah, runc, slirp4netns and iproute2 (scripts/install.sh installs them).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { makeGitRepo, type FileSpec } from '../support/git-repos.ts';
import { apiCall } from '../support/world.ts';
import { ADMIN } from '../support/server.ts';
import { run } from '../harness/tools.ts';
import { makeBuildWorld, waitBuild, waitBuildState, type BuildWorld } from '../builds/support.ts';
import { skipOrFail } from '../harness/require.ts';
import { NS_ADDRS, NS_PORT, outsideUnavailable, startOutside, type Outside } from './netns.ts';

let bw: BuildWorld;
let outside: Outside | undefined;
let loopbackService: Server;
let loopbackHits = 0;
let unavailable: string | null = null;
const NPM_TOKEN = `npm_${randomBytes(12).toString('hex')}`;
let n = 0;

before(async () => {
  unavailable = await outsideUnavailable();
  // BUILDGRID_TEST_UNSANDBOXED=1 runs the same attacks without the sandbox (chroot isolation), to see them succeed.
  const off = process.env.BUILDGRID_TEST_UNSANDBOXED === '1' ? { buildIsolation: 'chroot', buildNetwork: 'host' } : {};
  bw = await makeBuildWorld({ buildMemoryMb: 192, buildPidsLimit: 64, buildConcurrency: 2, ...off });
  // Stands in for a PostgreSQL (or anything) on the server's loopback.
  loopbackService = createServer((s) => { loopbackHits++; s.end('pg-ish\n'); });
  await new Promise<void>((r) => loopbackService.listen(0, '127.0.0.1', () => r()));
  if (!unavailable) outside = await startOutside();
  for (const app of ['hostile']) {
    const r = await apiCall(bw.s, bw.w.globexDev.token, 'POST', '/accounts/globex/apps', { name: app });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const r = await apiCall(bw.s, bw.w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'innocent', env: { NPM_TOKEN } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});

after(async () => {
  await outside?.stop();
  loopbackService?.close();
  await bw?.stop();
});

/** Adds a globex service on a fresh repository holding `files` and deploys it; resolves to the final build. */
async function hostileBuild(files: Record<string, FileSpec>, svc: { context?: string; dockerfile?: string } = {}): Promise<any> {
  const name = `h${++n}`;
  const repo = await makeGitRepo(join(bw.tmp, `${name}.git`), files);
  const token = bw.w.globexDev.token;
  const s = await apiCall(bw.s, token, 'POST', '/accounts/globex/apps/hostile/services', { name, gitUrl: repo.url, branch: 'main', ...svc });
  if (s.status !== 201) return { status: 'refused', error: JSON.stringify(s.body), httpStatus: s.status };
  const d = await apiCall(bw.s, token, 'POST', '/accounts/globex/apps/hostile/deploy', { services: [name] });
  assert.equal(d.status, 202, JSON.stringify(d.body));
  const id = d.body.builds[0].id;
  const b = await waitBuild(bw.s, token, id);
  const log = await apiCall(bw.s, token, 'GET', `/builds/${id}/log`);
  return { ...b, log: (log.body.lines ?? []).map((l: any) => l.text).join('\n') };
}

const dockerfile = (...run: string[]): string => [`FROM ${bw.base}`, ...run.map((r) => `RUN ${r}`), ''].join('\n');

test('a build context that is a symlink to the server data directory fails, naming the path', async () => {
  const b = await hostileBuild({ Dockerfile: dockerfile('true'), ctx: { symlink: bw.s.dataDir } }, { context: 'ctx', dockerfile: 'Dockerfile' });
  assert.equal(b.status, 'failed');
  assert.match(b.error, /build context ctx leads outside the repository/);
});

test('a Dockerfile that is a symlink to a host file fails before the engine reads it', async () => {
  const b = await hostileBuild({ Dockerfile: { symlink: '/etc/hostname' }, 'x.txt': 'x' });
  assert.equal(b.status, 'failed');
  assert.match(b.error, /Dockerfile Dockerfile leads outside the repository/);
  // A relative link climbing out is the same attack.
  const c = await hostileBuild({ 'sub/Dockerfile': { symlink: '../../../../../../../../etc/hostname' } }, { dockerfile: 'sub/Dockerfile' });
  assert.equal(c.status, 'failed');
  assert.match(c.error, /leads outside the repository/);
});

test('context ../.. is refused when saved or fails the build', async () => {
  const b = await hostileBuild({ Dockerfile: dockerfile('true') }, { context: '../..' });
  assert.ok(b.status === 'refused' || b.status === 'failed', JSON.stringify(b));
  if (b.status === 'refused') assert.equal(b.httpStatus, 400);
});

test('symlinks inside the context are copied as links, never followed out of it', async () => {
  const b = await hostileBuild({
    Dockerfile: dockerfile().trimEnd() + '\nCOPY . /ctx/\nRUN cat /ctx/abs /ctx/rel 2>&1 | head -c 300; ls -la /ctx\n',
    abs: { symlink: '/etc/hostname' },
    rel: { symlink: '../../../../../../../etc/hostname' },
  });
  assert.equal(b.status, 'succeeded', b.error);
  assert.match(b.log, /abs -> \/etc\/hostname/);
  assert.doesNotMatch(b.log, new RegExp((await import('node:os')).hostname()));
});

test('RUN sees no process, command line or environment of the server or of another build', async (t) => {
  // acme's innocent build keeps a RUN step alive (its buildah carries --build-arg NPM_TOKEN=… on its command line).
  const innocent = await makeGitRepo(join(bw.tmp, 'innocent.git'), { Dockerfile: [`FROM ${bw.base}`, 'ARG NPM_TOKEN', 'RUN sleep 8 && echo installed with ${#NPM_TOKEN}-char token', ''].join('\n') });
  const add = await apiCall(bw.s, bw.w.acmeOwner.token, 'POST', '/accounts/acme/apps/innocent/services', { name: 'web', gitUrl: innocent.url, branch: 'main' });
  assert.equal(add.status, 201, JSON.stringify(add.body));
  const d = await apiCall(bw.s, bw.w.acmeOwner.token, 'POST', '/accounts/acme/apps/innocent/deploy', {});
  const innocentId = d.body.builds[0].id;
  await waitBuildState(bw.s, bw.w.acmeOwner.token, innocentId, (x) => x.status === 'building' || x.status === 'succeeded');
  const scan = 'for p in /proc/[0-9]*; do echo "PROC $p $(tr \'\\0\' \' \' < $p/cmdline 2>/dev/null)"; tr \'\\0\' \'\\n\' < $p/environ 2>/dev/null | sed "s/^/ENV /"; done; echo COUNT $(ls -d /proc/[0-9]* | wc -l)';
  const b = await hostileBuild({ Dockerfile: dockerfile(scan) });
  assert.equal(b.status, 'succeeded', b.error);
  const count = Number(/COUNT (\d+)/.exec(b.log)?.[1]);
  t.diagnostic(`processes visible to the RUN step: ${count}`);
  assert.ok(count > 0 && count <= 6, `a RUN step sees only its own few processes, saw ${count}`);
  for (const secret of [NPM_TOKEN, ADMIN.password, bw.w.adminToken, bw.w.acmeOwner.registry.password, bw.s.dataDir]) {
    assert.ok(!b.log.includes(secret), `the scan found a secret: ${secret.slice(0, 6)}…`);
  }
  assert.doesNotMatch(b.log, /PROC \S+ .*(node|buildah|slirp4netns|runc)\b/, 'no host process is visible');
  const ok = await waitBuild(bw.s, bw.w.acmeOwner.token, innocentId);
  assert.equal(ok.status, 'succeeded', ok.error);
});

test('RUN cannot reach the server, a loopback service, a private or a link-local address; outbound works', async (t) => {
  const port = bw.s.port;
  const lb = (loopbackService.address() as { port: number }).port;
  const tries = [
    `http://127.0.0.1:${port}/metrics`, `http://10.0.2.2:${port}/metrics`, `http://127.0.0.1:${lb}/`,
    ...(outside ? [`http://${NS_ADDRS.private}:${NS_PORT}/`, `http://${NS_ADDRS.linkLocal}:${NS_PORT}/`, `http://${NS_ADDRS.public}:${NS_PORT}/`] : []),
  ];
  const b = await hostileBuild({ Dockerfile: dockerfile(tries.map((u) => `(timeout 5 wget -q -O- ${u} >/dev/null 2>&1 && echo "REACHED ${u}" || echo "BLOCKED ${u}")`).join('; ')) });
  assert.equal(b.status, 'succeeded', b.error);
  for (const u of tries.slice(0, outside ? 5 : 3)) assert.match(b.log, new RegExp(`BLOCKED ${u.replace(/[.?]/g, '\\$&')}`), `${u} must be unreachable`);
  assert.equal(loopbackHits, 0, 'the loopback service saw no connection');
  if (!outside) return skipOrFail(t, 'netns', `the private/link-local/outbound part: ${unavailable ?? 'the namespace was not made'}`);
  assert.match(b.log, new RegExp(`REACHED http://${NS_ADDRS.public.replace(/\./g, '\\.')}`), 'outbound to a public address works in the isolated network');
  assert.deepEqual(await outside.hits(), [NS_ADDRS.public], 'only the public address was reached');
});

test('RUN has no_new_privs, no CAP_SYS_ADMIN/NET_ADMIN, and the chroot escape does not reach the host', async (t) => {
  // The classic escape from a chroot(2) jail: chroot into a subdirectory, climb out with "..", chroot to ".".
  const src = join(bw.tmp, 'esc.c');
  await writeFile(src, [
    '#include <stdio.h>', '#include <unistd.h>', '#include <sys/stat.h>',
    'int main(int argc, char **argv) { (void)argc; mkdir("esc-dir", 0755);',
    '  if (chroot("esc-dir") != 0) { perror("chroot"); puts("CONTAINED"); return 0; }',
    '  for (int i = 0; i < 64; i++) if (chdir("..") != 0) break;',
    '  if (chroot(".") != 0) { perror("chroot ."); puts("CONTAINED"); return 0; }',
    '  puts(access(argv[1], F_OK) == 0 ? "ESCAPED" : "CONTAINED"); return 0; }',
    '',
  ].join('\n'));
  const cc = await run('cc', ['-static', '-O', '-o', join(bw.tmp, 'esc'), src], { timeoutMs: 60_000 }).catch(() => null);
  const files: Record<string, FileSpec> = {};
  if (cc?.code === 0) files.esc = { content: await readFile(join(bw.tmp, 'esc')), mode: 0o755 };
  const marker = join(bw.s.dataDir, `host-marker-${randomBytes(4).toString('hex')}`);
  await writeFile(marker, 'host file\n');
  const b = await hostileBuild({
    ...files,
    Dockerfile: [`FROM ${bw.base}`, ...(cc?.code === 0 ? ['COPY esc /esc', `RUN /esc ${marker}`] : []),
      'RUN grep -E "^(NoNewPrivs|CapEff)" /proc/self/status', ''].join('\n'),
  });
  assert.equal(b.status, 'succeeded', b.error);
  assert.match(b.log, /NoNewPrivs:\s+1/);
  const capEff = BigInt('0x' + (/CapEff:\s+([0-9a-f]+)/.exec(b.log)?.[1] ?? 'ffffffffff'));
  assert.equal(capEff & (1n << 21n), 0n, 'no CAP_SYS_ADMIN');
  assert.equal(capEff & (1n << 12n), 0n, 'no CAP_NET_ADMIN');
  if (cc?.code !== 0) return t.skip(`chroot escape part skipped: no static C compiler (${cc?.stderr.slice(0, 80) ?? 'cc not found'})`);
  assert.match(b.log, /^CONTAINED$/m);
  assert.doesNotMatch(b.log, /^ESCAPED$/m);
});

test('a fork bomb is stopped by the pids limit and a memory filler by the memory limit; other builds go on', async () => {
  const bomb = hostileBuild({ Dockerfile: dockerfile('i=0; while [ $i -lt 400 ]; do sleep 30 & i=$((i+1)); done; echo FORKED; ls -d /proc/[0-9]* | wc -l') });
  const hog = hostileBuild({ Dockerfile: dockerfile('dd if=/dev/zero of=/dev/null bs=600M count=1 && echo ALLOCATED') });
  const [f, m] = await Promise.all([bomb, hog]);
  assert.match(f.log, /can't fork|Resource temporarily unavailable/, 'the pids limit stopped the bomb');
  assert.equal(m.status, 'failed', 'the memory filler was killed');
  assert.doesNotMatch(m.log, /^ALLOCATED$/m);
  // The server and other accounts' builds are unharmed.
  const d = await apiCall(bw.s, bw.w.acmeOwner.token, 'POST', '/accounts/acme/apps/innocent/deploy', {});
  assert.equal(d.status, 202, JSON.stringify(d.body));
  const again = await waitBuild(bw.s, bw.w.acmeOwner.token, d.body.builds[0].id);
  assert.ok(['succeeded'].includes(again.status), again.error);
});
