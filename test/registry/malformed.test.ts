import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sha256Of } from '../../src/core/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, adminClient, pushRandomImage, basic, type World, type PushedImage } from '../support/world.ts';

// Every malformed input gets the spec's error code and status — never a 500 and never a partial write.
let s: TestServer;
let w: World;
let img: PushedImage;
let A: string;

before(async () => {
  s = await startTestServer();
  w = await makeWorld(s);
  A = basic('admin', w.adminToken);
  img = await pushRandomImage(adminClient(s, w.adminToken), 'acme/app.web', 'v1');
});
after(async () => s.stop());

async function expectError(path: string, init: RequestInit, status: number, code: string) {
  const r = await fetch(`${s.url}${path}`, { ...init, headers: { authorization: A, ...(init.headers as object) } });
  const text = await r.text();
  assert.equal(r.status, status, `${init.method ?? 'GET'} ${path}: ${text}`);
  assert.equal(JSON.parse(text).errors[0].code, code, `${path}: ${text}`);
  assert.ok(JSON.parse(text).errors[0].message.length > 0);
}

test('malformed repository names → NAME_INVALID', async () => {
  for (const name of ['Acme/App', 'acme/-app', 'acme//app', 'acme/app_', 'a'.repeat(256), 'acme/app%20x', 'acme/ap..p']) {
    await expectError(`/v2/${name}/manifests/latest`, {}, 400, 'NAME_INVALID');
  }
  await expectError('/v2/UPPER/tags/list', {}, 400, 'NAME_INVALID');
  await expectError('/v2/BAD!/blobs/uploads/', { method: 'POST' }, 400, 'NAME_INVALID');
});

test('malformed digests and references', async () => {
  await expectError('/v2/acme/app.web/blobs/sha256:xyz', {}, 400, 'DIGEST_INVALID');
  await expectError('/v2/acme/app.web/blobs/md5:0123456789abcdef0123456789abcdef', {}, 400, 'DIGEST_INVALID');
  await expectError(`/v2/acme/app.web/blobs/sha256:${'A'.repeat(64)}`, {}, 400, 'DIGEST_INVALID');
  // A read by a reference that is neither tag nor digest names no manifest (the spec lists only 404 for GET/HEAD).
  await expectError('/v2/acme/app.web/manifests/sha256:123', {}, 404, 'MANIFEST_UNKNOWN');
  await expectError(`/v2/acme/app.web/manifests/${'t'.repeat(129)}`, {}, 404, 'MANIFEST_UNKNOWN');
  await expectError('/v2/acme/app.web/manifests/.hidden', {}, 404, 'MANIFEST_UNKNOWN');
  await expectError('/v2/acme/app.web/manifests/sha256:123', { method: 'DELETE' }, 400, 'DIGEST_INVALID');
  await expectError('/v2/acme/app.web/referrers/notadigest', {}, 400, 'DIGEST_INVALID');
  await expectError(`/v2/acme/app.web/blobs/${sha256Of('absent')}`, {}, 404, 'BLOB_UNKNOWN');
  await expectError('/v2/acme/app.web/manifests/nope', {}, 404, 'MANIFEST_UNKNOWN');
  await expectError('/v2/acme/nothing/manifests/latest', {}, 404, 'NAME_UNKNOWN');
  await expectError('/v2/acme/nothing/tags/list', {}, 404, 'NAME_UNKNOWN');
  await expectError('/v2/acme/app.web/tags/list?n=abc', {}, 400, 'UNSUPPORTED');
});

test('malformed manifests are refused and change nothing', async () => {
  const put = (body: string, ct: string = MediaType.ociManifest, ref = 'bad') =>
    expectError(`/v2/acme/app.web/manifests/${ref}`, { method: 'PUT', body, headers: { 'content-type': ct } }, 400, 'MANIFEST_INVALID');
  await put('not json');
  await put('[]');
  await put(JSON.stringify({ schemaVersion: 1 }));
  await put(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { digest: 'sha256:zz', size: 1, mediaType: 'x' }, layers: [] }));
  await put(JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-unknown', config: {}, layers: [] }), 'application/x-unknown');
  await put(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }), MediaType.ociManifest);
  const missing = JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256Of('missing'), size: 7 }, layers: [],
  });
  await expectError('/v2/acme/app.web/manifests/bad', { method: 'PUT', body: missing, headers: { 'content-type': MediaType.ociManifest } }, 400, 'MANIFEST_BLOB_UNKNOWN');
  const idx = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: MediaType.ociManifest, digest: sha256Of('x'), size: 1 }] });
  await expectError('/v2/acme/app.web/manifests/bad', { method: 'PUT', body: idx, headers: { 'content-type': MediaType.ociIndex } }, 400, 'MANIFEST_BLOB_UNKNOWN');
  await expectError(`/v2/acme/app.web/manifests/${sha256Of('other')}`, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'content-type': MediaType.ociManifest } }, 400, 'DIGEST_INVALID');
  await expectError('/v2/acme/app.web/manifests/big', { method: 'PUT', body: new Uint8Array(Buffer.alloc(5 * 1024 * 1024, 32)), headers: { 'content-type': MediaType.ociManifest } }, 400, 'SIZE_INVALID');
  const tags = await (await fetch(`${s.url}/v2/acme/app.web/tags/list`, { headers: { authorization: A } })).json() as any;
  assert.deepEqual(tags.tags, ['v1'], 'no refused manifest created a tag');
});

test('malformed uploads: unknown ids, foreign repositories, bad ranges, wrong digests', async () => {
  await expectError('/v2/acme/app.web/blobs/uploads/nonsense', { method: 'PATCH', body: 'x' }, 404, 'BLOB_UPLOAD_UNKNOWN');
  await expectError('/v2/acme/app.web/blobs/uploads/..%2F..%2Fetc.x', { method: 'GET' }, 404, 'BLOB_UPLOAD_UNKNOWN');
  const start = await fetch(`${s.url}/v2/acme/app.web/blobs/uploads/`, { method: 'POST', headers: { authorization: A } });
  const loc = start.headers.get('location')!;
  const id = loc.split('/').pop()!;
  await expectError(`/v2/acme/app.other/blobs/uploads/${id}`, { method: 'GET' }, 404, 'BLOB_UPLOAD_UNKNOWN');
  await expectError(loc, { method: 'PATCH', body: 'abc', headers: { 'content-range': 'bytes=oops' } }, 416, 'RANGE_INVALID');
  await expectError(loc, { method: 'PATCH', body: 'abc', headers: { 'content-range': '10-12' } }, 416, 'RANGE_INVALID');
  await expectError(loc, { method: 'PUT', body: 'abc' }, 400, 'DIGEST_INVALID');
  await expectError(`${loc}?digest=sha256:nothex`, { method: 'PUT', body: 'abc' }, 400, 'DIGEST_INVALID');
  const data = randomBytes(100);
  await expectError(`${loc}?digest=${sha256Of('different')}`, { method: 'PUT', body: data }, 400, 'DIGEST_INVALID');
  // The digest mismatch discarded the session and stored nothing.
  await expectError(loc, { method: 'GET' }, 404, 'BLOB_UPLOAD_UNKNOWN');
  await expectError(`/v2/acme/app.web/blobs/${sha256Of(data)}`, {}, 404, 'BLOB_UNKNOWN');
  await expectError(`/v2/acme/app.web/blobs/uploads/?digest=${sha256Of('x')}`, { method: 'POST', body: 'not x' }, 400, 'DIGEST_INVALID');
  await expectError(`/v2/acme/app.web/blobs/uploads/?mount=bad&from=acme/app.web`, { method: 'POST' }, 400, 'DIGEST_INVALID');
});

test('unknown endpoints and methods', async () => {
  await expectError('/v2/acme/app.web/manifests/v1', { method: 'PATCH' }, 405, 'UNSUPPORTED');
  await expectError('/v2/acme/app.web/whatever', {}, 404, 'NAME_UNKNOWN');
  const r = await fetch(`${s.url}/v2/token`, { method: 'POST', body: 'grant_type=refresh_token', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(r.status, 405);
});
