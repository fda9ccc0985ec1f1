import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Of, type Digest } from '../../src/core/digest.ts';
import { AppError } from '../../src/core/errors.ts';
import { pickPlatform } from '../../src/oci/platform.ts';
import { parseManifest } from '../../src/oci/manifest.ts';
import { UpstreamClient } from '../../src/oci/upstream.ts';
import { startHangingServer } from '../support/git-http.ts';
import type { BusyboxImage } from '../harness/busybox.ts';
import { startCountingUpstream, startFakeUpstream, type CountingUpstream } from './upstream.ts';

// The upstream client against real distribution registries on loopback: anonymous, Basic (htpasswd) and Docker's
// token flow; and against a hostile fake for what it must refuse.

const ups: CountingUpstream[] = [];
let anon: CountingUpstream;
let img: BusyboxImage;
before(async () => {
  anon = await startCountingUpstream();
  ups.push(anon);
  img = await anon.seed('library/busybox', '1');
});
after(async () => {
  for (const u of ups) await u.stop();
});

async function drain(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('anonymous: a manifest by tag and digest, verified; HEAD names the digest; a blob streams verified; 404 is null', async () => {
  const c = new UpstreamClient({ name: 'docker.io', url: anon.url });
  const m = await c.getManifest('library/busybox', '1');
  assert.equal(m?.digest, img.manifestDigest);
  assert.deepEqual(m?.bytes, img.manifestBytes);
  assert.equal((await c.getManifest('library/busybox', img.manifestDigest))?.digest, img.manifestDigest);
  assert.equal((await c.headManifest('library/busybox', '1'))?.digest, img.manifestDigest);
  assert.equal(await c.getManifest('library/busybox', 'nope'), null);
  assert.equal(await c.headManifest('library/nothing', '1'), null);
  const layer = img.layers[0]!;
  assert.equal(sha256Of(await drain(await c.openBlob('library/busybox', layer.digest as Digest))), layer.digest);
  assert.equal(await c.hasBlob('library/busybox', layer.digest as Digest), true);
  await assert.rejects(c.openBlob('library/busybox', sha256Of('absent')), (e: AppError) => e.code === 'BLOB_UNKNOWN');
});

test('Docker token flow: credentials are sent to the realm; anonymous pulls work when the token server allows them', async () => {
  const tok = await startCountingUpstream({ auth: 'token', anonymousPull: true });
  ups.push(tok);
  const seeded = await tok.seed('library/busybox', '1');
  const withCreds = new UpstreamClient({ name: 'docker.io', url: tok.url, username: tok.registry.username, password: tok.registry.password });
  assert.equal((await withCreds.getManifest('library/busybox', '1'))?.digest, seeded.manifestDigest);
  // The token is reused: a second request does not start with another 401.
  const before401 = tok.requests.filter((r) => r.status === 401).length;
  await withCreds.headManifest('library/busybox', '1');
  assert.equal(tok.requests.filter((r) => r.status === 401).length, before401);
  const anonymous = new UpstreamClient({ name: 'docker.io', url: tok.url });
  assert.equal((await anonymous.headManifest('library/busybox', '1'))?.digest, seeded.manifestDigest);
  const wrong = new UpstreamClient({ name: 'docker.io', url: tok.url, username: tok.registry.username, password: 'wrong' });
  await assert.rejects(wrong.getManifest('library/busybox', '1'), (e: AppError) => e.code === 'UNAUTHORIZED' && /upstreams\.docker\.io\.username\/password/.test(e.message));
});

test('Basic credentials (htpasswd); without them the refusal says to configure credentials', async () => {
  const basic = await startCountingUpstream({ auth: 'htpasswd' });
  ups.push(basic);
  const seeded = await basic.seed('acme/base', '2');
  const c = new UpstreamClient({ name: 'registry.example.com', url: basic.url, username: basic.registry.username, password: basic.registry.password });
  assert.equal((await c.getManifest('acme/base', '2'))?.digest, seeded.manifestDigest);
  const none = new UpstreamClient({ name: 'registry.example.com', url: basic.url });
  await assert.rejects(none.getManifest('acme/base', '2'), (e: AppError) => e.code === 'DENIED' && /upstreams\.registry\.example\.com\.username\/password/.test(e.message));
});

test('a hostile upstream: manifest bytes that do not match their digest, a blob that does not, oversized answers', async () => {
  const fake = await startFakeUpstream();
  try {
    const real = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Of('c'), size: 1 }, layers: [] }));
    const other = Buffer.from(real.toString().replace('"size":1', '"size":2'));
    const json = { 'content-type': 'application/vnd.oci.image.manifest.v1+json' };
    fake.routes.set(`/v2/x/manifests/${sha256Of(real)}`, { status: 200, headers: json, body: other });
    fake.routes.set('/v2/x/manifests/t', { status: 200, headers: { ...json, 'docker-content-digest': sha256Of(real) }, body: other });
    fake.routes.set(`/v2/x/blobs/${sha256Of('layer')}`, { status: 200, body: Buffer.from('not the layer') });
    fake.routes.set('/v2/x/manifests/big', { status: 200, headers: json, body: Buffer.alloc(5000, 32) });
    const c = new UpstreamClient({ name: 'evil', url: fake.url, maxManifestBytes: 4096, maxBlobBytes: 8 });
    await assert.rejects(c.getManifest('x', sha256Of(real)), (e: AppError) => e.code === 'DIGEST_INVALID');
    await assert.rejects(c.getManifest('x', 't'), (e: AppError) => e.code === 'DIGEST_INVALID');
    await assert.rejects(c.getManifest('x', 'big'), (e: AppError) => e.code === 'SIZE_INVALID');
    await assert.rejects(drain(await c.openBlob('x', sha256Of('layer'))), (e: AppError) => e.code === 'SIZE_INVALID');
    const roomy = new UpstreamClient({ name: 'evil', url: fake.url });
    await assert.rejects(drain(await roomy.openBlob('x', sha256Of('layer'))), (e: AppError) => e.code === 'DIGEST_INVALID');
  } finally {
    await fake.stop();
  }
});

test('an upstream that never answers fails within the timeout, naming the upstream and what to check', async () => {
  const hang = await startHangingServer();
  try {
    const c = new UpstreamClient({ name: 'docker.io', url: `http://127.0.0.1:${hang.port}`, timeoutMs: 300 });
    await assert.rejects(c.headManifest('library/busybox', '1'), (e: AppError) => e.code === 'INTERNAL' && /docker\.io .*did not answer within 300 ms/.test(e.message));
  } finally {
    await hang.stop();
  }
});

test('pickPlatform: this platform of an index, never an attestation entry', () => {
  const d = (p: Record<string, string>, s: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Of(s), size: 1, platform: p });
  const index = [d({ os: 'unknown', architecture: 'unknown' }, 'att'), d({ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'arm'), d({ os: 'linux', architecture: 'amd64' }, 'amd')];
  assert.equal(pickPlatform(index, { os: 'linux', architecture: 'amd64' })?.digest, sha256Of('amd'));
  assert.equal(pickPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest, sha256Of('arm'));
  assert.equal(pickPlatform([index[0]!], { os: 'linux', architecture: 'amd64' }), null);
  assert.equal(parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index })), undefined).manifests.length, 3);
});
