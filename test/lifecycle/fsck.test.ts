import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { sha256Of } from '../../src/core/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { storePaths } from '../../src/storage/paths.ts';
import { apiCall } from '../support/world.ts';
import { credsOf, fsckNow, makeShopWorld, pullImage, pushImage, type Pushed, type ShopWorld } from './support.ts';

// fsck finds corruption, dangling references and strays; --repair quarantines them so clients get 404s instead of
// broken pulls; the store is healthy afterwards. Plus storage usage (unique and shared bytes).
let x: ShopWorld;
let paths: ReturnType<typeof storePaths>;
let a: Pushed, b: Pushed, c: Pushed;
let index: { digest: string; children: string[] };
const shared = randomBytes(30_000);

before(async () => {
  x = await makeShopWorld();
  paths = storePaths(join(x.s.dataDir, 'storage'));
  a = await pushImage(x, 'web', { shared: [shared] });
  b = await pushImage(x, 'web');
  c = await pushImage(x, 'api', { shared: [shared] });
  // A two-platform index whose children are pushed by digest (untagged).
  const children: string[] = [];
  for (let i = 0; i < 2; i++) {
    const layer = randomBytes(3000);
    const config = Buffer.from(JSON.stringify({ architecture: i ? 'arm64' : 'amd64', os: 'linux' }));
    for (const blob of [layer, config]) await x.client.uploadBlob('acme/shop.web', sha256Of(blob), blob.length, () => Readable.from([blob]));
    const m = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256Of(config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: sha256Of(layer), size: layer.length }],
    }));
    await x.client.putManifest('acme/shop.web', sha256Of(m), MediaType.ociManifest, m);
    children.push(sha256Of(m));
  }
  const idx = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociIndex,
    manifests: children.map((d, i) => ({ mediaType: MediaType.ociManifest, digest: d, size: 1, platform: { architecture: i ? 'arm64' : 'amd64', os: 'linux' } })),
  }));
  await x.client.putManifest('acme/shop.web', 'multi', MediaType.ociIndex, idx);
  index = { digest: sha256Of(idx), children };
});
after(() => x.stop());

test('storage usage: bytes unique to an application or repository, and bytes shared with others', async () => {
  // globex holds the shared layer too.
  await x.client.uploadBlob('globex/base', sha256Of(shared), shared.length, () => Readable.from([shared]));
  const cfg = Buffer.from('{"os":"linux"}');
  await x.client.uploadBlob('globex/base', sha256Of(cfg), cfg.length, () => Readable.from([cfg]));
  await x.client.putManifest('globex/base', 'v1', MediaType.ociManifest, Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: sha256Of(cfg), size: cfg.length },
    layers: [{ mediaType: MediaType.ociLayerGzip, digest: sha256Of(shared), size: shared.length }],
  })));
  const r = await apiCall(x.s, x.w.acmeViewer.token, 'GET', '/accounts/acme/usage');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const row = (kind: string, name: string) => r.body[kind].find((u: any) => u.name === name);
  const web = row('repositories', 'acme/shop.web');
  const api = row('repositories', 'acme/shop.api');
  const app = row('applications', 'acme/shop');
  const acct = row('accounts', 'acme');
  assert.equal(web.sharedBytes, shared.length, 'the layer web shares with api and globex');
  assert.equal(api.sharedBytes, shared.length);
  assert.equal(app.sharedBytes, shared.length, 'shared with globex, outside the application');
  assert.equal(acct.sharedBytes, shared.length);
  assert.equal(app.uniqueBytes, web.uniqueBytes + api.uniqueBytes);
  assert.equal(acct.totalBytes, app.totalBytes);
  assert.ok(web.uniqueBytes > 4 * 8192, `web unique ${web.uniqueBytes}`);
  assert.equal(web.manifests, 5, 'a, b, the index and its two children');
  const appOnly = await apiCall(x.s, x.w.acmeViewer.token, 'GET', '/accounts/acme/apps/shop/usage');
  assert.deepEqual(appOnly.body.application, app);
  assert.equal(appOnly.body.repositories.length, 2);
  assert.equal((await apiCall(x.s, x.w.globexDev.token, 'GET', '/accounts/acme/usage')).status, 404);
  const all = await apiCall(x.s, x.w.adminToken, 'GET', '/admin/usage');
  assert.equal(all.status, 200);
  assert.ok(all.body.store.bytes >= all.body.store.referencedBytes, JSON.stringify(all.body.store));
  assert.equal(all.body.store.unreferencedBytes, 0);
  assert.equal((await apiCall(x.s, x.w.acmeOwner.token, 'GET', '/admin/usage')).status, 403);
});

test('fsck reports corrupt and missing blobs, broken images and indexes, dangling links and stray files (exit 2)', async () => {
  assert.equal((await fsckNow(x)).exitCode, 0, 'healthy to begin with');
  const layerA = a.blobs.at(-1)!;
  const bytes = await readFile(paths.blob(layerA));
  bytes[0] = bytes[0]! ^ 0xff; // flip bits: same size, wrong content
  await writeFile(paths.blob(layerA), bytes);
  await rm(paths.blob(b.blobs[0]!)); // b's config is gone
  const child = (await x.s.metadata.manifests.get((await x.s.metadata.repositories.get('acme/shop.web'))!.id, index.children[1] as any))!;
  await rm(paths.blob(child.digest)); // a child manifest's bytes are gone: the index is broken too
  const repo = (await x.s.metadata.repositories.get('acme/shop.api'))!;
  await x.s.metadata.repositories.linkBlob(repo.id, sha256Of('never uploaded'));
  await mkdir(join(paths.blobsDir, 'sha256', 'zz'), { recursive: true });
  await writeFile(join(paths.blobsDir, 'sha256', 'zz', 'not-a-digest'), 'stray');

  await assert.rejects(pullImage(x.s.url, credsOf(x.w.acmeViewer), a.repository, a.commit), /wrong content/);
  const report = await fsckNow(x);
  assert.equal(report.exitCode, 2);
  assert.equal(report.healthy, false);
  const kinds = (k: string) => report.problems.filter((p: any) => p.kind === k);
  assert.deepEqual(kinds('blob-corrupt').map((p: any) => p.digest), [layerA]);
  assert.deepEqual(kinds('manifest-blob-corrupt').map((p: any) => p.digest), [a.digest]);
  assert.deepEqual(kinds('manifest-blob-missing').map((p: any) => p.digest), [b.digest]);
  assert.deepEqual(kinds('manifest-bytes-missing').map((p: any) => p.digest), [index.children[1]]);
  assert.deepEqual(kinds('manifest-child-broken').map((p: any) => p.digest), [index.digest]);
  assert.deepEqual(kinds('tag-target-broken').map((p: any) => p.tag).sort(), [a.commit, b.commit, 'multi'].sort());
  assert.deepEqual(kinds('link-dangling').map((p: any) => p.digest).sort(), [b.blobs[0], sha256Of('never uploaded')].sort(), 'b\'s lost config, and a link to nothing');
  assert.equal(kinds('stray-file').length, 1);
  assert.ok(report.problems.every((p: any) => !p.repaired), 'nothing repaired without --repair');
});

test('fsck --repair quarantines them (exit 1), after which the store is healthy and clients get 404s, not broken images', async () => {
  const report = await fsckNow(x, true);
  assert.equal(report.exitCode, 1, JSON.stringify(report.problems.filter((p: any) => !p.repaired)));
  assert.ok(report.problems.every((p: any) => p.repaired), 'everything repaired');
  const clean = await fsckNow(x);
  assert.equal(clean.exitCode, 0, JSON.stringify(clean.problems));
  await assert.rejects(pullImage(x.s.url, credsOf(x.w.acmeViewer), a.repository, a.commit), /HTTP 404/);
  await assert.rejects(pullImage(x.s.url, credsOf(x.w.acmeViewer), b.repository, b.commit), /HTTP 404/);
  await pullImage(x.s.url, credsOf(x.w.acmeViewer), c.repository, c.commit); // untouched images are fine
  const trash = await apiCall(x.s, x.w.acmeOwner.token, 'GET', '/accounts/acme/trash');
  assert.deepEqual(trash.body.filter((e: any) => e.reason === 'fsck').map((e: any) => e.digest).sort(),
    [a.digest, b.digest, index.digest, index.children[1]].sort());
  // The corrupt layer was dropped from the repository, so pushing the image again uploads it again and heals it.
  assert.equal(await x.client.hasBlob(a.repository, a.blobs.at(-1)!), false);
  const restore = await apiCall(x.s, x.w.acmeOwner.token, 'POST', `/accounts/acme/trash/${trash.body.find((e: any) => e.digest === b.digest).id}/restore`);
  assert.equal(restore.status, 409, 'an image whose blob is gone cannot be restored');
  assert.match(restore.body.error.message, /is gone/);
});
