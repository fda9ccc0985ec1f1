// The end-to-end promise with REAL clients against a running BuildGrid server (Docker Engine: docker.test.ts):
//   - an administrator imports a base image with the real `buildgrid import` CLI (OCI layout and docker-archive);
//   - skopeo, podman and buildah pull it with BuildGrid credentials, unchanged, over plain HTTP on 127.0.0.1;
//   - a push by a person is refused with the read-only message; an administrator can push;
//   - rotated passwords and revoked pull tokens stop working for real clients, fresh ones work.
// Needs root and Debian's skopeo, podman, buildah and busybox-static.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { READ_ONLY_MESSAGE } from '../../src/registry/errors.ts';
import { removeTree, run, type RunOptions, type RunResult } from '../harness/tools.ts';
import { apiCall } from '../support/world.ts';
import { creds, output, startClientsWorld, type ClientsWorld, type Creds, type ImportResult, type Sandbox } from './support.ts';

let cw: ClientsWorld;
let sk: Sandbox; // skopeo's private HOME / auth file
let imported: ImportResult;
let archive: ImportResult;

before(async () => {
  cw = await startClientsWorld('bgcl-');
  sk = await cw.sandbox('skopeo');
});
after(async () => {
  await cw?.cleanup();
});

const ref = (repoTag: string): string => `docker://${cw.host}/${repoTag}`;
const viewer = (): Creds => cw.w.acmeViewer.registry;
const admin = (): Creds => ({ username: 'admin', password: cw.w.adminToken });

/** skopeo with a private HOME and auth file; never rejects on a non-zero exit. */
function skopeo(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('skopeo', args, { timeoutMs: 90_000, ...opts, env: { ...sk.env, ...opts.env } });
}

async function inspect(repoTag: string, c: Creds, extra: string[] = []): Promise<RunResult> {
  return skopeo(['inspect', '--tls-verify=false', '--creds', creds(c), ...extra, ref(repoTag)]);
}

async function inspectDigest(repoTag: string, c: Creds): Promise<string> {
  const r = await inspect(repoTag, c);
  assert.equal(r.code, 0, output(r));
  return (JSON.parse(r.stdout) as { Digest: string }).Digest;
}

/** A refused login: non-zero exit and an authentication error (not, say, a connection or TLS problem). */
function assertAuthRefused(r: RunResult, what: string): void {
  assert.notEqual(r.code, 0, `${what} should be refused\n${output(r)}`);
  assert.match(r.stderr, /unauthorized/i, `${what}: ${output(r)}`);
  assert.match(r.stderr, /invalid BuildGrid credentials/, `${what}: the server's explanation reaches the user\n${output(r)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Import with the real CLI

test('buildgrid import (real CLI) loads an OCI layout as acme/busybox:1', async () => {
  const r = await cw.cli(['import', cw.img.layoutDir, 'acme/busybox:1', '--json']);
  assert.equal(r.code, 0, output(r));
  imported = JSON.parse(r.stdout) as ImportResult;
  assert.deepEqual(imported, {
    repository: 'acme/busybox',
    tag: '1',
    digest: cw.img.manifestDigest,
    bytes: cw.img.totalBlobBytes,
    image: `${cw.host}/acme/busybox:1`,
  });
});

test('buildgrid import (real CLI) loads a docker-archive tar into a new account, library/busybox:archive', async () => {
  const acc = await apiCall(cw.s, cw.w.adminToken, 'POST', '/accounts', { name: 'library' });
  assert.equal(acc.status, 201, JSON.stringify(acc.body));
  const mem = await apiCall(cw.s, cw.w.adminToken, 'PUT', '/accounts/library/members', { email: cw.w.acmeViewer.email, role: 'viewer' });
  assert.equal(mem.status, 200, JSON.stringify(mem.body));

  const r = await cw.cli(['import', cw.img.dockerArchive, 'library/busybox:archive', '--json']);
  assert.equal(r.code, 0, output(r));
  archive = JSON.parse(r.stdout) as ImportResult;
  assert.equal(archive.repository, 'library/busybox');
  assert.equal(archive.tag, 'archive');
  assert.match(archive.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(archive.image, `${cw.host}/library/busybox:archive`);
  assert.ok(archive.bytes > 0);
  // The human-readable form says the same thing.
  const again = await cw.cli(['import', cw.img.dockerArchive, 'library/busybox:archive']);
  assert.equal(again.code, 0, output(again));
  assert.match(again.stdout, new RegExp(`${cw.host}/library/busybox:archive[\\s\\S]*${archive.digest}`));
});

test('buildgrid import refuses a non-administrator with a non-zero exit and a message', async () => {
  const r = await cw.cli(['import', cw.img.layoutDir, 'acme/busybox:by-owner', '--json'], cw.w.acmeOwner.token);
  assert.notEqual(r.code, 0, output(r));
  assert.match(r.stderr, /read-only/, `says why\n${output(r)}`);
});

// ---------------------------------------------------------------------------------------------------------------
// 2. skopeo

test('skopeo inspect shows the imported digest (OCI layout and docker-archive)', async () => {
  assert.equal(await inspectDigest('acme/busybox:1', viewer()), cw.img.manifestDigest);
  assert.equal(await inspectDigest('library/busybox:archive', viewer()), archive.digest);
  // The archive became a manifest around the very same config (so Docker reports the same image ID).
  const raw = await inspect('library/busybox:archive', viewer(), ['--raw']);
  assert.equal(raw.code, 0, output(raw));
  assert.equal(JSON.parse(raw.stdout).config.digest, cw.img.configDigest);
  // Any member works, with their own credentials; the owner too.
  assert.equal(await inspectDigest('acme/busybox:1', cw.w.acmeOwner.registry), cw.img.manifestDigest);
});

test('skopeo copy OUT to an oci: directory gives identical manifest and blobs', async () => {
  const dest = join(sk.dir, 'copied-oci');
  const r = await skopeo(['copy', '--src-tls-verify=false', '--src-creds', creds(viewer()), ref('acme/busybox:1'), `oci:${dest}:copied`]);
  assert.equal(r.code, 0, output(r));
  const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8'));
  assert.equal(index.manifests[0].digest, cw.img.manifestDigest);
  const manifest = await readFile(join(dest, 'blobs', 'sha256', cw.img.manifestDigest.slice(7)));
  assert.deepEqual(manifest, cw.img.manifestBytes);
  for (const l of cw.img.layers) {
    const copied = await readFile(join(dest, 'blobs', 'sha256', l.digest.slice(7)));
    assert.deepEqual(copied, await readFile(join(cw.img.layoutDir, 'blobs', 'sha256', l.digest.slice(7))));
  }
  const local = await skopeo(['inspect', `oci:${dest}:copied`]);
  assert.equal(JSON.parse(local.stdout).Digest, cw.img.manifestDigest);
});

test('skopeo copy IN (push) with a person\'s credentials is refused with the read-only message', async () => {
  for (const who of [cw.w.acmeViewer, cw.w.acmeOwner]) {
    const r = await skopeo([
      'copy', '--dest-tls-verify=false', '--dest-creds', creds(who.registry),
      `oci:${cw.img.layoutDir}:${cw.img.tag}`, ref('acme/busybox:pushed-by-person'),
    ]);
    assert.notEqual(r.code, 0, `push by ${who.email} must fail\n${output(r)}`);
    assert.match(r.stderr, /read-only/, output(r));
    assert.ok(r.stderr.includes(READ_ONLY_MESSAGE.slice(0, 60)), `the full read-only message reaches the client\n${output(r)}`);
  }
  // A push into a new repository is refused the same way (nothing gets created).
  const fresh = await skopeo([
    'copy', '--dest-tls-verify=false', '--dest-creds', creds(viewer()),
    `docker-archive:${cw.img.dockerArchive}`, ref('acme/brand-new:1'),
  ]);
  assert.notEqual(fresh.code, 0, output(fresh));
  assert.match(fresh.stderr, /read-only/, output(fresh));
});

test('skopeo list-tags lists exactly the imported tag (the refused pushes left nothing)', async () => {
  const r = await skopeo(['list-tags', '--tls-verify=false', '--creds', creds(viewer()), ref('acme/busybox')]);
  assert.equal(r.code, 0, output(r));
  const j = JSON.parse(r.stdout) as { Repository: string; Tags: string[] };
  assert.equal(j.Repository, `${cw.host}/acme/busybox`);
  assert.deepEqual(j.Tags, ['1']);
  const lib = await skopeo(['list-tags', '--tls-verify=false', '--creds', creds(viewer()), ref('library/busybox')]);
  assert.equal(lib.code, 0, output(lib));
  assert.deepEqual(JSON.parse(lib.stdout).Tags, ['archive']);
  const none = await skopeo(['list-tags', '--tls-verify=false', '--creds', creds(viewer()), ref('acme/brand-new')]);
  assert.notEqual(none.code, 0, output(none));
});

test('skopeo copy IN as the administrator (API token) succeeds', async () => {
  const r = await skopeo([
    'copy', '--dest-tls-verify=false', '--dest-creds', creds(admin()),
    `oci:${cw.img.layoutDir}:${cw.img.tag}`, ref('acme/pushed-by-admin:1'),
  ]);
  assert.equal(r.code, 0, output(r));
  assert.equal(await inspectDigest('acme/pushed-by-admin:1', viewer()), cw.img.manifestDigest);
  // Registry-to-registry copy inside BuildGrid, reading as the viewer and writing as the admin.
  const c = await skopeo([
    'copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds(viewer()), '--dest-creds', creds(admin()),
    ref('library/busybox:archive'), ref('acme/pushed-by-admin:from-archive'),
  ]);
  assert.equal(c.code, 0, output(c));
  assert.equal(await inspectDigest('acme/pushed-by-admin:from-archive', viewer()), archive.digest);
});

test('skopeo: another account\'s images are invisible (refused exactly like a missing repository)', async () => {
  const r = await inspect('acme/busybox:1', cw.w.globexDev.registry);
  assert.notEqual(r.code, 0, output(r));
  assert.doesNotMatch(r.stdout, /sha256:/);
  const missing = await inspect('acme/no-such-repo:1', cw.w.globexDev.registry);
  assert.notEqual(missing.code, 0, output(missing));
  const norm = (x: RunResult): string => x.stderr.replace(/^time="[^"]*"/, '').replaceAll('acme/busybox', 'X').replaceAll('acme/no-such-repo', 'X');
  assert.equal(norm(r), norm(missing));
});

// ---------------------------------------------------------------------------------------------------------------
// 3. podman and buildah (pull only: `podman run` is refused by this sandbox; containers run in docker.test.ts)

for (const tool of ['podman', 'buildah'] as const) {
  test(`${tool} pull with BuildGrid credentials stores the image under its digest`, async () => {
    const box = await cw.sandbox(tool);
    const storage = ['--root', join(box.dir, 'root'), '--runroot', join(box.dir, 'runroot'), '--storage-driver', 'vfs'];
    if (tool === 'podman') storage.push('--tmpdir', join(box.dir, 'tmp'), '--cgroup-manager', 'cgroupfs');
    const image = `${cw.host}/acme/busybox:1`;
    const opts: RunOptions = { env: box.env, timeoutMs: 120_000 };
    try {
      const pull = await run(tool, [...storage, 'pull', '--tls-verify=false', '--creds', creds(viewer()), image], opts);
      assert.equal(pull.code, 0, output(pull));
      // Both print the image ID (the config digest) last.
      assert.equal(pull.stdout.trim().split('\n').pop(), cw.img.configDigest.slice(7), output(pull));
      const fmt = tool === 'podman' ? '{{.Digest}}' : '{{.FromImageDigest}}';
      const insp = await run(tool, [...storage, 'inspect', '--type', 'image', '--format', fmt, image], opts);
      assert.equal(insp.code, 0, output(insp));
      assert.equal(insp.stdout.trim(), cw.img.manifestDigest);
      // Wrong credentials are refused.
      const bad = await run(tool, [...storage, 'pull', '--tls-verify=false', '--creds', `${viewer().username}:wrong-password`, `${cw.host}/library/busybox:archive`], opts);
      assertAuthRefused(bad, `${tool} pull with a wrong password`);
    } finally {
      await removeTree(box.dir);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Credential matrix with a real client (skopeo)

test('a rotated BuildGrid password is refused by skopeo; the new one works', async () => {
  const owner = cw.w.acmeOwner;
  const old = owner.registry;
  assert.equal(await inspectDigest('acme/busybox:1', old), cw.img.manifestDigest);
  const rot = await apiCall<Creds>(cw.s, owner.token, 'POST', '/credentials/rotate');
  assert.equal(rot.status, 200, JSON.stringify(rot.body));
  assert.notEqual(rot.body.password, old.password);
  assertAuthRefused(await inspect('acme/busybox:1', old), 'skopeo with the rotated-away password');
  assert.equal(await inspectDigest('acme/busybox:1', rot.body), cw.img.manifestDigest);
  owner.registry = { username: rot.body.username, password: rot.body.password };
});

test('a pull token works with skopeo (pull only) until it is revoked', async () => {
  const owner = cw.w.acmeOwner;
  const created = await apiCall<{ id: string; username: string; password: string }>(cw.s, owner.token, 'POST', '/accounts/acme/tokens', { name: 'skopeo-ci' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const tok: Creds = { username: created.body.username, password: created.body.password };
  assert.equal(await inspectDigest('acme/busybox:1', tok), cw.img.manifestDigest);
  const copy = await skopeo(['copy', '--src-tls-verify=false', '--src-creds', creds(tok), ref('acme/busybox:1'), `oci:${join(sk.dir, 'by-token')}:t`]);
  assert.equal(copy.code, 0, output(copy));
  // Pull-only: a push with the token is refused, read-only.
  const push = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', creds(tok), `oci:${cw.img.layoutDir}:${cw.img.tag}`, ref('acme/busybox:by-token')]);
  assert.notEqual(push.code, 0, output(push));
  assert.match(push.stderr, /read-only/, output(push));
  // Limited to its account.
  const lib = await inspect('library/busybox:archive', tok);
  assert.notEqual(lib.code, 0, output(lib));

  const del = await apiCall(cw.s, owner.token, 'DELETE', `/accounts/acme/tokens/${created.body.id}`);
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assertAuthRefused(await inspect('acme/busybox:1', tok), 'skopeo with a revoked pull token');
});

test('a pull token limited to one repository reaches only that repository', async () => {
  const created = await apiCall<{ id: string; username: string; password: string }>(cw.s, cw.w.acmeOwner.token, 'POST', '/accounts/acme/tokens', {
    name: 'only-busybox', repositories: ['acme/busybox'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const tok: Creds = { username: created.body.username, password: created.body.password };
  assert.equal(await inspectDigest('acme/busybox:1', tok), cw.img.manifestDigest);
  const other = await inspect('acme/pushed-by-admin:1', tok);
  assert.notEqual(other.code, 0, output(other));
});


