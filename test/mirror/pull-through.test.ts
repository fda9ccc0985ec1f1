import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Of, type Digest } from '../../src/core/digest.ts';
import { RegistryClient } from '../../src/oci/client.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, apiCall, pushRandomImage, adminClient, basic, type World } from '../support/world.ts';
import { runOk, tempDir, removeTree, type TempDir } from '../harness/tools.ts';
import type { BusyboxImage } from '../harness/busybox.ts';
import { onlyUpstreams, startCountingUpstream, startFakeUpstream, type CountingUpstream, type FakeUpstream } from './upstream.ts';

// The pull-through cache through BuildGrid's /v2 with real clients: docker-registry (behind a counting proxy) stands
// in for docker.io, a hostile fake for a registry that lies. `cached` keeps tags for an hour, `fresh` re-checks every
// tag on every pull (upstreamTagTtlSeconds 0), so no test waits for time to pass.

let up: CountingUpstream;
let fake: FakeUpstream;
let cached: TestServer;
let fresh: TestServer;
let w: World;
let wf: World;
let tmp: TempDir;
let busybox: BusyboxImage;

before(async () => {
  up = await startCountingUpstream();
  fake = await startFakeUpstream();
  tmp = await tempDir('bg-mirror-');
  const upstreams = onlyUpstreams({ 'docker.io': { url: up.url }, 'evil.example': { url: fake.url } });
  cached = await startTestServer({ upstreams, upstreamTagTtlSeconds: 3600 });
  fresh = await startTestServer({ upstreams, upstreamTagTtlSeconds: 0 });
  w = await makeWorld(cached);
  wf = await makeWorld(fresh);
  busybox = await up.seed('library/busybox', '1');
});
after(async () => {
  await cached?.stop();
  await fresh?.stop();
  await up?.stop();
  await fake?.stop();
  await removeTree(tmp.path);
});

const v2 = (s: TestServer, path: string, auth: string | null, init: RequestInit = {}) =>
  fetch(`${s.url}/v2/${path}`, { ...init, headers: { ...(auth ? { authorization: auth } : {}), accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json', ...(init.headers as object) } });

let copies = 0;
/** skopeo copy of `ref` (a path under the server) into a fresh OCI layout; resolves to the manifest digest. */
async function skopeoPull(s: TestServer, ref: string, creds: { username: string; password: string }): Promise<string> {
  const dir = join(tmp.path, `copy-${copies++}`);
  await runOk('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', `${creds.username}:${creds.password}`, `docker://${s.host}/${ref}`, `oci:${dir}:x`], { timeoutMs: 60_000 });
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  return index.manifests[0]!.digest;
}

test('a signed-in user pulls mirror/docker.io/library/busybox:1 with skopeo: fetched upstream once, then served from the store', async () => {
  const before = up.requests.length;
  assert.equal(await skopeoPull(cached, 'mirror/docker.io/library/busybox:1', w.globexDev.registry), busybox.manifestDigest);
  assert.equal(up.count('GET', /^\/v2\/library\/busybox\/manifests\/1$/), 1);
  for (const b of [busybox.configDigest, ...busybox.layers.map((l) => l.digest)]) {
    assert.equal(up.count('GET', new RegExp(`/blobs/${b}$`)), 1, `blob ${b} fetched once`);
  }
  const afterFirst = up.requests.length;
  assert.ok(afterFirst > before);
  // Another account's user pulls the same tag, and the digest: nothing goes upstream.
  assert.equal(await skopeoPull(cached, 'mirror/docker.io/library/busybox:1', w.acmeViewer.registry), busybox.manifestDigest);
  assert.equal(await skopeoPull(cached, `mirror/docker.io/library/busybox@${busybox.manifestDigest}`, w.acmeOwner.registry), busybox.manifestDigest);
  assert.deepEqual(up.requests.slice(afterFirst), []);
});

test('concurrent pulls of a new tag and of its layer wait for one upstream fetch each', async () => {
  const img = await up.seed('library/concurrent', '7', { extraFiles: { 'etc/which': 'concurrent' } });
  const auth = basic(w.acmeOwner.registry.username, w.acmeOwner.registry.password);
  const manifests = await Promise.all(Array.from({ length: 8 }, () => v2(cached, 'mirror/docker.io/library/concurrent/manifests/7', auth)));
  for (const r of manifests) {
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), img.manifestDigest);
    await r.arrayBuffer();
  }
  assert.equal(up.count('GET', /^\/v2\/library\/concurrent\/manifests\/7$/), 1);
  const layer = img.layers[1]!.digest;
  const blobs = await Promise.all(Array.from({ length: 8 }, () => v2(cached, `mirror/docker.io/library/concurrent/blobs/${layer}`, auth)));
  for (const r of blobs) {
    assert.equal(r.status, 200);
    assert.equal(sha256Of(Buffer.from(await r.arrayBuffer())), layer);
  }
  assert.equal(up.count('GET', new RegExp(`^/v2/library/concurrent/blobs/${layer}$`)), 1);
});

test('nobody pushes to mirror/, administrators included; anonymous callers and pull tokens do not pull it', async () => {
  const repo = 'mirror/docker.io/library/busybox';
  await assert.rejects(pushRandomImage(adminClient(cached, w.adminToken), repo, '1'), /DENIED|read-only|cannot start upload/);
  await assert.rejects(pushRandomImage(new RegistryClient({ baseUrl: cached.url, ...w.acmeOwner.registry }), repo, '1'), /DENIED|read-only|cannot start upload/);
  const still = await v2(cached, `${repo}/manifests/1`, basic(w.acmeOwner.registry.username, w.acmeOwner.registry.password));
  assert.equal(still.headers.get('docker-content-digest'), busybox.manifestDigest);
  const del = await v2(cached, `${repo}/manifests/${busybox.manifestDigest}`, basic('admin', w.adminToken), { method: 'DELETE' });
  assert.equal(del.status, 403);
  assert.equal((await v2(cached, `${repo}/manifests/1`, null)).status, 401);
  const pt = await apiCall(cached, w.acmeOwner.token, 'POST', '/accounts/acme/tokens', { name: 'deploy' });
  assert.equal(pt.status, 201, JSON.stringify(pt.body));
  const r = await v2(cached, `${repo}/manifests/1`, basic(pt.body.username, pt.body.password));
  assert.equal(r.status, 404);
});

test('an unconfigured registry and an image the upstream lacks are refused, saying why', async () => {
  const auth = basic(w.acmeOwner.registry.username, w.acmeOwner.registry.password);
  const r = await v2(cached, 'mirror/quay.io/acme/app/manifests/1', auth);
  assert.equal(r.status, 404);
  assert.match(await r.text(), /quay\.io is not a configured upstream/);
  const missing = await v2(cached, 'mirror/docker.io/library/nothing/manifests/1', auth);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /not found in docker\.io\/library\/nothing upstream/);
});

test('a tag is re-checked once older than upstreamTagTtlSeconds: a moved tag is fetched, an unreachable upstream serves the cached copy, a digest pin never asks', async () => {
  const first = await up.seed('library/moving', '1', { extraFiles: { 'etc/v': '1' } });
  assert.equal(await skopeoPull(fresh, 'mirror/docker.io/library/moving:1', wf.globexDev.registry), first.manifestDigest);
  const second = await up.seed('library/moving', '1', { extraFiles: { 'etc/v': '2' } });
  const heads = up.count('HEAD', /^\/v2\/library\/moving\/manifests\/1$/);
  assert.equal(await skopeoPull(fresh, 'mirror/docker.io/library/moving:1', wf.globexDev.registry), second.manifestDigest);
  assert.ok(up.count('HEAD', /^\/v2\/library\/moving\/manifests\/1$/) > heads, 'the tag was checked with HEAD');
  up.setDown(true);
  try {
    const at = up.requests.length;
    assert.equal(await skopeoPull(fresh, 'mirror/docker.io/library/moving:1', wf.globexDev.registry), second.manifestDigest);
    assert.ok(up.requests.length > at, 'the upstream was asked and did not answer');
    const pinnedAt = up.requests.length;
    assert.equal(await skopeoPull(fresh, `mirror/docker.io/library/moving@${first.manifestDigest}`, wf.globexDev.registry), first.manifestDigest);
    assert.equal(up.requests.length, pinnedAt, 'a cached digest never goes upstream');
    const r = await v2(fresh, 'mirror/docker.io/library/never-cached/manifests/1', basic(wf.globexDev.registry.username, wf.globexDev.registry.password));
    assert.equal(r.status, 500);
    assert.match(await r.text(), /upstream docker\.io .*unreachable|did not answer/);
  } finally {
    up.setDown(false);
  }
});

test('a manifest cannot reach blobs its upstream lacks: another account\'s layer named by a hostile upstream is not served', async () => {
  const secret = await pushRandomImage(adminClient(cached, w.adminToken), 'acme/secret', '1', { layers: 1, layerSize: 2048 });
  const layer = secret.layers[0]!;
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: secret.configDigest, size: secret.config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.bytes.length }],
  }));
  fake.routes.set('/v2/evil/base/manifests/1', { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  const auth = basic(w.globexDev.registry.username, w.globexDev.registry.password);
  const m = await v2(cached, 'mirror/evil.example/evil/base/manifests/1', auth);
  assert.equal(m.status, 200);
  assert.equal(m.headers.get('docker-content-digest'), sha256Of(manifest));
  const b = await v2(cached, `mirror/evil.example/evil/base/blobs/${layer.digest}`, auth);
  const body = Buffer.from(await b.arrayBuffer());
  assert.equal(b.status, 404, 'the layer of acme/secret must not be served through the mirror');
  assert.notDeepEqual(body, layer.bytes);
  assert.equal(fake.requests.filter((r) => r.method === 'HEAD' && r.path.endsWith(layer.digest)).length, 1, 'the upstream was asked whether it has the blob');
  // A digest no cached manifest names is not even asked for.
  const asked = up.requests.length;
  const stray = await v2(cached, `mirror/docker.io/library/busybox/blobs/${layer.digest}`, auth);
  assert.equal(stray.status, 404);
  assert.equal(up.requests.length, asked);
});

test('bytes that do not match their digest are not stored: the next pull asks again', async () => {
  const good = Buffer.from('real layer bytes');
  const digest = sha256Of(good) as Digest;
  const config = Buffer.from('{}');
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Of(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: good.length }],
  }));
  fake.routes.set('/v2/evil/tamper/manifests/1', { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  fake.routes.set(`/v2/evil/tamper/blobs/${digest}`, { status: 200, body: Buffer.from('poisoned layer!!') });
  const auth = basic(w.globexDev.registry.username, w.globexDev.registry.password);
  assert.equal((await v2(cached, 'mirror/evil.example/evil/tamper/manifests/1', auth)).status, 200);
  for (let i = 0; i < 2; i++) {
    const r = await v2(cached, `mirror/evil.example/evil/tamper/blobs/${digest}`, auth);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /DIGEST_INVALID/);
  }
  assert.equal(fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith(digest)).length, 2);
  fake.routes.set(`/v2/evil/tamper/blobs/${digest}`, { status: 200, body: good });
  const ok = await v2(cached, `mirror/evil.example/evil/tamper/blobs/${digest}`, auth);
  assert.equal(ok.status, 200);
  assert.deepEqual(Buffer.from(await ok.arrayBuffer()), good);
});

test('mirror/docker.io/<name> is the official image library/<name>, as Docker normalises it', async () => {
  const auth = basic(w.acmeViewer.registry.username, w.acmeViewer.registry.password);
  const r = await v2(cached, 'mirror/docker.io/busybox/manifests/1', auth);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('docker-content-digest'), busybox.manifestDigest);
  assert.equal(up.count('GET', /^\/v2\/busybox\//), 0);
});

test('a multi-platform index is kept with this platform\'s image; another platform\'s image is fetched by digest only when asked', async () => {
  const mine = await up.seed('library/multi', 'mine', { extraFiles: { 'etc/p': 'mine' } });
  const other = await up.seed('library/multi', 'other', { extraFiles: { 'etc/p': 'other' } });
  const otherArch = mine.platform.architecture === 'amd64' ? 'arm64' : 'amd64';
  const entry = (img: BusyboxImage, platform: Record<string, string>) => ({ mediaType: img.manifestMediaType, digest: img.manifestDigest, size: img.manifestBytes.length, platform });
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [entry(other, { os: 'linux', architecture: otherArch }), entry(mine, { os: 'linux', architecture: mine.platform.architecture, ...(mine.platform.variant ? { variant: mine.platform.variant } : {}) })],
  }));
  const put = await fetch(`${up.registry.url}/v2/library/multi/manifests/2`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: index });
  assert.equal(put.status, 201, await put.text());
  const creds = w.globexDev.registry;
  const auth = basic(creds.username, creds.password);
  const r = await v2(cached, 'mirror/docker.io/library/multi/manifests/2', auth);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('docker-content-digest'), sha256Of(index));
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), index);
  assert.equal(up.count('GET', new RegExp(`/manifests/${mine.manifestDigest}$`)), 1, 'this platform\'s image came with the index');
  assert.equal(up.count('GET', new RegExp(`/manifests/${other.manifestDigest}$`)), 0);
  // skopeo picks this platform from the index; nothing more goes upstream for the manifest.
  const asked = up.count('GET', /\/manifests\//);
  assert.equal(await skopeoPull(cached, 'mirror/docker.io/library/multi:2', creds), mine.manifestDigest);
  assert.equal(up.count('GET', /\/manifests\//), asked);
  const o = await v2(cached, `mirror/docker.io/library/multi/manifests/${other.manifestDigest}`, auth);
  assert.equal(o.status, 200);
  assert.equal(up.count('GET', new RegExp(`/manifests/${other.manifestDigest}$`)), 1);
});
