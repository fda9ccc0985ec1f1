import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { sha256Of } from '../../src/core/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, adminClient, pushRandomImage, basic, type World, type PushedImage } from '../support/world.ts';

// The /v2 API end to end over HTTP: reads, admin pushes (monolithic, chunked, mount), pagination, referrers, ranges.
let s: TestServer;
let w: World;
let img: PushedImage;
let A: string; // admin Basic header

before(async () => {
  s = await startTestServer();
  w = await makeWorld(s);
  A = basic('admin', w.adminToken);
  img = await pushRandomImage(adminClient(s, w.adminToken), 'acme/app.web', 'v1');
});
after(async () => s.stop());

const v2 = (path: string, init: RequestInit & { auth?: string } = {}) =>
  fetch(`${s.url}/v2/${path}`, { ...init, headers: { authorization: init.auth ?? A, ...(init.headers as object) } });

test('manifest GET/HEAD by tag and digest carry type, digest and length', async () => {
  for (const ref of ['v1', img.manifestDigest]) {
    for (const method of ['GET', 'HEAD']) {
      const r = await v2(`acme/app.web/manifests/${ref}`, { method });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), MediaType.ociManifest);
      assert.equal(r.headers.get('docker-content-digest'), img.manifestDigest);
      assert.equal(Number(r.headers.get('content-length')), img.manifest.length);
      const body = Buffer.from(await r.arrayBuffer());
      assert.deepEqual(body, method === 'GET' ? img.manifest : Buffer.alloc(0));
    }
  }
});

test('docker schema 2 manifests and indexes are stored and served with their media types', async () => {
  const c = adminClient(s, w.adminToken);
  const d = await pushRandomImage(c, 'acme/app.docker', 'latest', { mediaType: MediaType.dockerManifest });
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.dockerManifestList,
    manifests: [{ mediaType: MediaType.dockerManifest, digest: d.manifestDigest, size: d.manifest.length, platform: { architecture: 'amd64', os: 'linux' } }],
  }));
  await c.putManifest('acme/app.docker', 'multi', MediaType.dockerManifestList, index);
  const r = await v2('acme/app.docker/manifests/multi');
  assert.equal(r.headers.get('content-type'), MediaType.dockerManifestList);
  assert.equal(r.headers.get('docker-content-digest'), sha256Of(index));
  const m = await v2('acme/app.docker/manifests/latest');
  assert.equal(m.headers.get('content-type'), MediaType.dockerManifest);
});

test('blob GET, HEAD and byte ranges (206, suffix, open-ended, 416)', async () => {
  const layer = img.layers[0]!;
  const full = await v2(`acme/app.web/blobs/${layer.digest}`);
  assert.equal(full.status, 200);
  assert.deepEqual(Buffer.from(await full.arrayBuffer()), layer.bytes);
  assert.equal(full.headers.get('docker-content-digest'), layer.digest);
  const head = await v2(`acme/app.web/blobs/${layer.digest}`, { method: 'HEAD' });
  assert.equal(Number(head.headers.get('content-length')), layer.bytes.length);
  const part = await v2(`acme/app.web/blobs/${layer.digest}`, { headers: { range: 'bytes=10-19' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 10-19/${layer.bytes.length}`);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), layer.bytes.subarray(10, 20));
  const suffix = await v2(`acme/app.web/blobs/${layer.digest}`, { headers: { range: 'bytes=-5' } });
  assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), layer.bytes.subarray(layer.bytes.length - 5));
  const open = await v2(`acme/app.web/blobs/${layer.digest}`, { headers: { range: 'bytes=4000-' } });
  assert.deepEqual(Buffer.from(await open.arrayBuffer()), layer.bytes.subarray(4000));
  for (const range of ['bytes=999999-', 'bytes=5-2', 'items=0-1', 'bytes=0-1,4-5', 'bytes=-0', 'garbage']) {
    const bad = await v2(`acme/app.web/blobs/${layer.digest}`, { headers: { range } });
    assert.equal(bad.status, 416, range);
    assert.equal(bad.headers.get('content-range'), `bytes */${layer.bytes.length}`);
    assert.equal(((await bad.json()) as any).errors[0].code, 'RANGE_INVALID');
  }
});

test('a large blob streams intact', async () => {
  const c = adminClient(s, w.adminToken);
  const big = await pushRandomImage(c, 'acme/app.big', 'v1', { layers: 1, layerSize: 5 * 1024 * 1024 + 123 });
  const r = await v2(`acme/app.big/blobs/${big.layers[0]!.digest}`);
  const body = Buffer.from(await r.arrayBuffer());
  assert.equal(sha256Of(body), big.layers[0]!.digest);
  const mid = await v2(`acme/app.big/blobs/${big.layers[0]!.digest}`, { headers: { range: 'bytes=1048570-3145739' } });
  assert.deepEqual(Buffer.from(await mid.arrayBuffer()), big.layers[0]!.bytes.subarray(1048570, 3145740));
});

test('chunked upload with PATCH + Content-Range, progress GET, and final PUT', async () => {
  const data = randomBytes(300_000);
  const digest = sha256Of(data);
  const start = await v2('acme/app.chunked/blobs/uploads/', { method: 'POST' });
  assert.equal(start.status, 202);
  let loc = start.headers.get('location')!;
  assert.ok(start.headers.get('docker-upload-uuid'));
  for (let off = 0; off < data.length; off += 100_000) {
    const chunk = data.subarray(off, off + 100_000);
    const r = await fetch(new URL(loc, s.url), { method: 'PATCH', headers: { authorization: A, 'content-range': `${off}-${off + chunk.length - 1}`, 'content-type': 'application/octet-stream' }, body: chunk });
    assert.equal(r.status, 202);
    assert.equal(r.headers.get('range'), `0-${off + chunk.length - 1}`);
    loc = r.headers.get('location')!;
  }
  const wrong = await fetch(new URL(loc, s.url), { method: 'PATCH', headers: { authorization: A, 'content-range': '5-9' }, body: Buffer.alloc(5) });
  assert.equal(wrong.status, 416);
  const progress = await fetch(new URL(loc, s.url), { headers: { authorization: A } });
  assert.equal(progress.status, 204);
  assert.equal(progress.headers.get('range'), `0-${data.length - 1}`);
  const done = await fetch(new URL(`${loc}?digest=${digest}`, s.url), { method: 'PUT', headers: { authorization: A } });
  assert.equal(done.status, 201);
  assert.equal(done.headers.get('docker-content-digest'), digest);
  const got = await v2(`acme/app.chunked/blobs/${digest}`);
  assert.deepEqual(Buffer.from(await got.arrayBuffer()), data);
});

test('monolithic POST ?digest= upload and cross-repository mount', async () => {
  const data = randomBytes(1000);
  const digest = sha256Of(data);
  const r = await v2(`acme/app.mono/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(r.status, 201);
  const m = await v2(`acme/app.mounted/blobs/uploads/?mount=${digest}&from=acme/app.mono`, { method: 'POST' });
  assert.equal(m.status, 201);
  assert.equal((await v2(`acme/app.mounted/blobs/${digest}`, { method: 'HEAD' })).status, 200);
  const nomount = await v2(`acme/app.other/blobs/uploads/?mount=${sha256Of('nope')}&from=acme/app.mono`, { method: 'POST' });
  assert.equal(nomount.status, 202, 'an impossible mount falls back to an upload session');
});

test('a blob is only reachable through a repository it belongs to', async () => {
  const r = await v2(`acme/app.docker/blobs/${img.layers[0]!.digest}`);
  assert.equal(r.status, 404);
  assert.equal(((await r.json()) as any).errors[0].code, 'BLOB_UNKNOWN');
});

test('tag list and catalog paginate with n/last and Link', async () => {
  const c = adminClient(s, w.adminToken);
  for (const t of ['a', 'b', 'c', 'd']) await c.putManifest('acme/app.web', t, MediaType.ociManifest, img.manifest);
  const p1 = await v2('acme/app.web/tags/list?n=2');
  assert.deepEqual(await p1.json(), { name: 'acme/app.web', tags: ['a', 'b'] });
  assert.equal(p1.headers.get('link'), '</v2/acme/app.web/tags/list?n=2&last=b>; rel="next"');
  const p2 = await v2('acme/app.web/tags/list?n=2&last=b');
  assert.deepEqual(((await p2.json()) as any).tags, ['c', 'd']);
  const p3 = await v2('acme/app.web/tags/list?n=2&last=d');
  assert.deepEqual(((await p3.json()) as any).tags, ['v1']);
  assert.equal(p3.headers.get('link'), null);
  const cat = await v2('_catalog?n=1');
  assert.equal(((await cat.json()) as any).repositories.length, 1);
  assert.match(cat.headers.get('link')!, /rel="next"/);
});

test('referrers API lists manifests whose subject is the digest, filtered by artifactType', async () => {
  const c = adminClient(s, w.adminToken);
  const empty = Buffer.from('{}');
  await c.uploadBlob('acme/app.web', sha256Of(empty), 2, () => Readable.from([empty]));
  const sig = (type: string) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: type,
    config: { mediaType: MediaType.ociEmpty, digest: sha256Of(empty), size: 2 }, layers: [],
    subject: { mediaType: MediaType.ociManifest, digest: img.manifestDigest, size: img.manifest.length },
  }));
  const sbom = sig('application/spdx+json');
  const put = await v2(`acme/app.web/manifests/${sha256Of(sbom)}`, { method: 'PUT', body: sbom, headers: { 'content-type': MediaType.ociManifest } });
  assert.equal(put.status, 201);
  assert.equal(put.headers.get('oci-subject'), img.manifestDigest);
  await c.putManifest('acme/app.web', sha256Of(sig('application/vnd.cncf.notary.signature')), MediaType.ociManifest, sig('application/vnd.cncf.notary.signature'));
  const all = await (await v2(`acme/app.web/referrers/${img.manifestDigest}`)).json() as any;
  assert.equal(all.manifests.length, 2);
  const f = await v2(`acme/app.web/referrers/${img.manifestDigest}?artifactType=application/spdx%2Bjson`);
  assert.equal(f.headers.get('oci-filters-applied'), 'artifactType');
  const fb = await f.json() as any;
  assert.equal(fb.manifests.length, 1);
  assert.equal(fb.manifests[0].digest, sha256Of(sbom));
  const none = await (await v2(`acme/app.web/referrers/${sha256Of('nothing')}`)).json() as any;
  assert.deepEqual(none.manifests, []);
});


test('manifest and tag deletion by the administrator', async () => {
  const c = adminClient(s, w.adminToken);
  const d = await pushRandomImage(c, 'acme/app.del', 'gone');
  assert.equal((await v2('acme/app.del/manifests/gone', { method: 'DELETE' })).status, 202);
  assert.equal((await v2('acme/app.del/manifests/gone')).status, 404);
  assert.equal((await v2(`acme/app.del/manifests/${d.manifestDigest}`)).status, 200, 'deleting a tag keeps the manifest');
  assert.equal((await v2(`acme/app.del/manifests/${d.manifestDigest}`, { method: 'DELETE' })).status, 202);
  const r = await v2(`acme/app.del/manifests/${d.manifestDigest}`);
  assert.equal(r.status, 404);
  assert.equal(((await r.json()) as any).errors[0].code, 'MANIFEST_UNKNOWN');
});
