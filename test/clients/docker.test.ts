// The end-to-end promise with the real Docker Engine (a private dockerd started by the harness):
// `docker login` with BuildGrid credentials, `docker pull`, `docker run`, a refused `docker push` that shows the
// read-only message, tenant isolation, and a refused login with a wrong password.
// If dockerd cannot start here, ONLY the docker tests are skipped, with a loud banner; the import still runs.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { READ_ONLY_MESSAGE } from '../../src/registry/errors.ts';
import { tryStartDockerd, type Dockerd } from '../harness/dockerd.ts';
import { pidAlive, type RunResult } from '../harness/tools.ts';
import { skipOrFail } from '../harness/require.ts';
import { cliImport, output, startClientsWorld, type ClientsWorld, type ImportResult } from './support.ts';

let cw: ClientsWorld;
let dockerd: Dockerd | undefined;
let skipReason: string | undefined;
let acmeImport: ImportResult;

before(async () => {
  cw = await startClientsWorld('bgdc-');
  // Start the engine while the images are imported (both take a few seconds).
  const [started, imported] = await Promise.all([
    tryStartDockerd(),
    (async () => {
      const acme = await cliImport(cw, cw.img.layoutDir, 'acme/busybox:1');
      await cliImport(cw, cw.img.layoutDir, 'globex/busybox:1');
      return acme;
    })(),
  ]);
  acmeImport = imported;
  if (started.ok) dockerd = started.dockerd;
  else skipReason = started.reason;
});

after(async () => {
  const pid = dockerd?.pid;
  await dockerd?.stop();
  if (pid !== undefined) assert.equal(pidAlive(pid), false, 'dockerd still running after stop()');
  await cw?.cleanup();
});

/** The running engine, or skips this test loudly (fails it under BUILDGRID_TEST_REQUIRE). */
function engine(t: TestContext): Dockerd | undefined {
  if (!dockerd) skipOrFail(t, 'dockerd', skipReason ?? 'dockerd did not start');
  return dockerd;
}

const docker = (args: string[], input?: string): Promise<RunResult> => dockerd!.run(args, { timeoutMs: 120_000, input });

async function login(username: string, password: string): Promise<RunResult> {
  return docker(['login', cw.host, '-u', username, '--password-stdin'], `${password}\n`);
}

test('import succeeded for the docker suite (real CLI)', () => {
  assert.equal(acmeImport.digest, cw.img.manifestDigest);
  assert.equal(acmeImport.image, `${cw.host}/acme/busybox:1`);
});

test('docker login with the acme viewer\'s BuildGrid credentials succeeds and is stored only in the private config', async (t) => {
  if (!engine(t)) return;
  const v = cw.w.acmeViewer.registry;
  const r = await login(v.username, v.password);
  assert.equal(r.code, 0, output(r));
  assert.match(r.stdout, /Login Succeeded/, output(r));
  const cfg = JSON.parse(await readFile(join(dockerd!.configDir, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
  const auth = Buffer.from(cfg.auths[cw.host]!.auth, 'base64').toString();
  assert.equal(auth, `${v.username}:${v.password}`);
});

test('docker pull gets the imported image by digest; docker run runs it', async (t) => {
  if (!engine(t)) return;
  const image = `${cw.host}/acme/busybox:1`;
  const pull = await docker(['pull', image]);
  assert.equal(pull.code, 0, output(pull));
  assert.match(pull.stdout, new RegExp(`Digest: ${cw.img.manifestDigest}`), output(pull));
  const insp = await docker(['image', 'inspect', '--format', '{{.Id}} {{json .RepoDigests}}', image]);
  assert.equal(insp.code, 0, output(insp));
  const [id, digests] = insp.stdout.trim().split(' ', 2);
  assert.equal(id, cw.img.configDigest);
  assert.deepEqual(JSON.parse(digests!), [`${cw.host}/acme/busybox@${cw.img.manifestDigest}`]);

  const runR = await docker(['run', '--rm', '--network', 'host', image, 'echo', 'hello-from-buildgrid']);
  assert.equal(runR.code, 0, output(runR));
  assert.equal(runR.stdout.trim(), 'hello-from-buildgrid');
  const motd = await docker(['run', '--rm', '--network', 'host', image, 'cat', '/etc/motd']);
  assert.equal(motd.stdout, 'served by BuildGrid\n', output(motd));
  // By digest, too.
  const byDigest = await docker(['pull', `${cw.host}/acme/busybox@${cw.img.manifestDigest}`]);
  assert.equal(byDigest.code, 0, output(byDigest));
});

test('docker push is refused and shows the read-only message', async (t) => {
  if (!engine(t)) return;
  const pushed = `${cw.host}/acme/busybox:pushed`;
  const tag = await docker(['tag', `${cw.host}/acme/busybox:1`, pushed]);
  assert.equal(tag.code, 0, output(tag));
  const push = await docker(['push', pushed]);
  assert.notEqual(push.code, 0, `push must fail\n${output(push)}`);
  const all = push.stdout + push.stderr;
  assert.match(all, /read-only/, output(push));
  assert.ok(all.includes(READ_ONLY_MESSAGE.slice(0, 60)), `the read-only message reaches the user\n${output(push)}`);

  // A new repository (blobs must be uploaded) is refused the same way.
  const fresh = `${cw.host}/acme/my-own-image:1`;
  assert.equal((await docker(['tag', `${cw.host}/acme/busybox:1`, fresh])).code, 0);
  const push2 = await docker(['push', fresh]);
  assert.notEqual(push2.code, 0, output(push2));
  assert.match(push2.stdout + push2.stderr, /read-only/, output(push2));

  // Nothing was stored: the pushed tag does not exist (pull of it fails after removing the local copy).
  await docker(['rmi', pushed, fresh]);
  const gone = await docker(['pull', pushed]);
  assert.notEqual(gone.code, 0, output(gone));
  assert.match(gone.stdout + gone.stderr, /not found|manifest unknown/i, output(gone));
});

test('docker pull of another account\'s image fails for the acme viewer, exactly like a missing one', async (t) => {
  if (!engine(t)) return;
  const other = await docker(['pull', `${cw.host}/globex/busybox:1`]);
  assert.notEqual(other.code, 0, `acme viewer must not pull globex's image\n${output(other)}`);
  const missing = await docker(['pull', `${cw.host}/globex/no-such-image:1`]);
  assert.notEqual(missing.code, 0, output(missing));
  // Same answer whether the repository exists or not (no existence leak), modulo the name.
  const norm = (r: RunResult): string => (r.stdout + r.stderr).replaceAll('globex/busybox', 'X').replaceAll('globex/no-such-image', 'X');
  assert.equal(norm(other), norm(missing));
  // The image really is there for globex's developer (logged in with a separate docker config).
  const g = cw.w.globexDev.registry;
  const cfg = join(cw.root, 'docker-globex');
  const gl = await dockerd!.run(['--config', cfg, 'login', cw.host, '-u', g.username, '--password-stdin'], { input: `${g.password}\n` });
  assert.equal(gl.code, 0, output(gl));
  const gp = await dockerd!.run(['--config', cfg, 'pull', `${cw.host}/globex/busybox:1`]);
  assert.equal(gp.code, 0, output(gp));
});

test('docker login with a wrong password fails', async (t) => {
  if (!engine(t)) return;
  const v = cw.w.acmeViewer.registry;
  const r = await login(v.username, `${v.password}-wrong`);
  assert.notEqual(r.code, 0, output(r));
  assert.match(r.stdout + r.stderr, /unauthorized|invalid/i, output(r));
  const unknown = await login('nobody-at-all', 'whatever');
  assert.notEqual(unknown.code, 0, output(unknown));
});
