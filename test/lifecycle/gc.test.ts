import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { sha256Of, type Digest } from '../../src/core/digest.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { recoverTrash } from '../../src/lifecycle/gc.ts';
import { createFsBlobMaintenance } from '../../src/storage/gc.ts';
import { storePaths } from '../../src/storage/paths.ts';
import { apiCall } from '../support/world.ts';
import { credsOf, fsckNow, gcNow, makeShopWorld, pullImage, pushImage, sleep, storeBytes, type Pushed, type ShopWorld } from './support.ts';

// Online garbage collection on one server (gcMinBlobAgeSeconds = 1): the grace window, dry run = real run, the
// classic "HEAD says it exists, then the sweep deletes it" race, and crash leftovers.
let x: ShopWorld;
const shared = randomBytes(20_000);
const owner = () => x.w.acmeOwner.token;
const setPolicy = (body: object) => apiCall(x.s, owner(), 'PUT', '/accounts/acme/apps/shop/retention', body);
const retain = async () => {
  const r = await apiCall(x.s, owner(), 'POST', '/accounts/acme/apps/shop/retention/run', { dryRun: false });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
const digestsOf = (list: Array<{ digest: string }>) => list.map((b) => b.digest).sort();

before(async () => {
  x = await makeShopWorld();
});
after(() => x.stop());

test('removed images keep their blobs through the grace window; afterwards a dry run predicts the collection exactly', async () => {
  const imgs: Pushed[] = [];
  for (let i = 0; i < 6; i++) imgs.push(await pushImage(x, 'web', { shared: [shared], layerSize: 10_000 }));
  await setPolicy({ keepLastPerBranch: 2, graceDays: 7 });
  assert.equal((await retain()).totals.removed, 4);
  await sleep(1200); // past gcMinBlobAgeSeconds
  const protectedRun = await gcNow(x, { retention: false });
  assert.equal(protectedRun.report.gc.blobs.deleted, 0, 'restorable images keep every blob');
  assert.equal(protectedRun.report.gc.trashPurged, 0);

  // Restore works after a collection; then let the others' grace window end.
  const trash = (await apiCall(x.s, owner(), 'GET', '/accounts/acme/trash')).body;
  const back = trash.find((e: any) => e.digest === imgs[0]!.digest);
  assert.equal((await apiCall(x.s, owner(), 'POST', `/accounts/acme/trash/${back.id}/restore`)).status, 200);
  await pullImage(x.s.url, credsOf(x.w.acmeViewer), imgs[0]!.repository, imgs[0]!.commit);
  await setPolicy({ keepLastPerBranch: 2, graceDays: 0 });
  const again = await retain();
  assert.equal(again.totals.removed, 0, 'the restored image is kept (it was pulled since), the others are still in the trash');
  await x.s.metadata.lifecycle.trash.purgeExpired('9999-01-01T00:00:00.000Z'); // end every remaining grace window now
  await sleep(1200);

  const before = await storeBytes(x.s.dataDir);
  const dry = await gcNow(x, { dryRun: true, retention: false });
  assert.ok(dry.report.gc.blobs.deleted >= 3 * 4, `dry run: ${dry.report.gc.blobs.deleted} blobs`);
  assert.equal((await storeBytes(x.s.dataDir)).bytes, before.bytes, 'a dry run changes nothing');
  const real = await gcNow(x, { retention: false });
  assert.deepEqual(digestsOf(real.report.gc.blobs.list), digestsOf(dry.report.gc.blobs.list), 'dry run = real run');
  assert.equal(real.report.gc.blobs.bytesFreed, dry.report.gc.blobs.bytesFreed);
  assert.deepEqual(real.report.gc.links.list.map((l: any) => l.digest).sort(), dry.report.gc.links.list.map((l: any) => l.digest).sort());
  const afterBytes = await storeBytes(x.s.dataDir);
  assert.equal(before.bytes - afterBytes.bytes, real.report.gc.blobs.bytesFreed, 'freed bytes are really gone');
  assert.ok(!digestsOf(real.report.gc.blobs.list).includes(sha256Of(shared)), 'a layer kept images share stays');
  for (const p of [imgs[0]!, imgs[4]!, imgs[5]!]) await pullImage(x.s.url, credsOf(x.w.acmeViewer), p.repository, p.commit);
  assert.equal((await fsckNow(x)).exitCode, 0);
});

test('one pass (retention, then collection) with no grace window: the dry run predicts both halves', async () => {
  const imgs: Pushed[] = [];
  for (let i = 0; i < 4; i++) imgs.push(await pushImage(x, 'api', { layerSize: 5000 }));
  await setPolicy({ keepLastPerBranch: 1, graceDays: 0, keepPulledWithinDays: 0 });
  await sleep(1200);
  const dry = await gcNow(x, { dryRun: true });
  const wouldGo = dry.report.retention.applications[0].decisions.filter((d: any) => d.status === 'would-remove');
  assert.ok(wouldGo.length >= 3, `would remove ${wouldGo.length}`);
  const real = await gcNow(x);
  const went = real.report.retention.applications[0].decisions.filter((d: any) => d.status === 'removed');
  assert.deepEqual(went.map((d: any) => d.digest).sort(), wouldGo.map((d: any) => d.digest).sort());
  assert.deepEqual(digestsOf(real.report.gc.blobs.list), digestsOf(dry.report.gc.blobs.list));
  assert.ok(real.report.gc.blobs.deleted >= 3 * 4, 'the removed images\' blobs were collected in the same pass');
  await pullImage(x.s.url, credsOf(x.w.acmeViewer), imgs[3]!.repository, imgs[3]!.commit);

  const history = await apiCall(x.s, x.w.adminToken, 'GET', '/admin/lifecycle/runs?limit=10');
  assert.equal(history.status, 200);
  assert.equal(history.body[0].kind, 'gc');
  assert.equal(history.body[0].dryRun, false);
  assert.equal((history.body[0].summary.gc as any).blobsDeleted, real.report.gc.blobs.deleted);
  assert.equal(history.body[1].dryRun, true);
  assert.ok(history.body.some((r: any) => r.kind === 'retention'), 'retention runs are in the history');
  assert.equal((await apiCall(x.s, owner(), 'POST', '/admin/gc', { dryRun: true })).status, 403, 'administrators only');
  assert.equal((await apiCall(x.s, owner(), 'GET', '/admin/lifecycle/runs')).status, 403);
});

test('the classic race: a pusher\'s HEAD of an old blob keeps it through a collection; a manifest naming a swept blob is refused', async () => {
  await apiCall(x.s, owner(), 'DELETE', '/accounts/acme/apps/shop/retention');
  const old = await pushImage(x, 'web', { layers: 2, layerSize: 7000 });
  const [, l1, l2] = old.blobs as [Digest, Digest, Digest];
  await setPolicy({ keepLastPerBranch: 1, graceDays: 0, keepPulledWithinDays: 0 });
  await pushImage(x, 'web'); // newer: `old` goes
  await sleep(1200);
  const r = await retain();
  assert.ok(r.applications[0].decisions.some((d: any) => d.digest === old.digest && d.status === 'removed'), 'the old image was removed');
  await x.s.metadata.lifecycle.trash.purgeExpired('9999-01-01T00:00:00.000Z');

  // A build about to push an image with layer l1 asks whether the repository has it: yes (the link is still there).
  assert.equal(await x.client.hasBlob(old.repository, l1), true);
  const gc = await gcNow(x, { retention: false });
  const swept = digestsOf(gc.report.gc.blobs.list);
  assert.ok(swept.includes(l2), 'the untouched layer was collected');
  assert.ok(!swept.includes(l1), 'the layer a pusher just asked about was kept');
  // ... so the build, which skipped uploading l1, can push its manifest, and the image is complete.
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', note: 'reuses l1' }));
  await x.client.uploadBlob(old.repository, sha256Of(config), config.length, () => Readable.from([config]));
  const manifest = (layer: Digest) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256Of(config), size: config.length },
    layers: [{ mediaType: MediaType.ociLayerGzip, digest: layer, size: 7000 }],
  }));
  await x.client.putManifest(old.repository, 'reuses-l1', MediaType.ociManifest, manifest(l1));
  await pullImage(x.s.url, credsOf(x.w.acmeViewer), old.repository, 'reuses-l1');
  // A client that relies on an older answer about l2 is refused instead of producing a broken image.
  assert.equal(await x.client.hasBlob(old.repository, l2), false);
  await assert.rejects(x.client.putManifest(old.repository, 'needs-l2', MediaType.ociManifest, manifest(l2)), /MANIFEST_BLOB_UNKNOWN/);
  assert.equal((await fsckNow(x)).exitCode, 0);
});

test('crash leftovers: recovery puts back what the database still needs and drops the rest', async () => {
  const img = await pushImage(x, 'web');
  const paths = storePaths(join(x.s.dataDir, 'storage'));
  const batch = join(paths.gcTrashDir, 'crashed-1');
  await mkdir(batch, { recursive: true });
  // As if a sweep transaction renamed a blob that is still referenced and then rolled back (kill -9)...
  const needed = img.blobs[1]!;
  await rename(paths.blob(needed), join(batch, needed.replace(':', '-')));
  // ... and as if a committed batch's directory was not deleted yet.
  const garbage = randomBytes(100);
  await import('node:fs/promises').then((fs) => fs.writeFile(join(batch, sha256Of(garbage).replace(':', '-')), garbage));
  const fsck = await fsckNow(x);
  assert.equal(fsck.exitCode, 2);
  assert.ok(fsck.problems.some((p: any) => p.kind === 'gc-leftover'), 'fsck reports the leftover');
  assert.ok(fsck.problems.some((p: any) => p.kind === 'manifest-blob-missing' && p.digest === img.digest), 'fsck reports the missing blob');

  const r = await recoverTrash({ metadata: x.s.metadata, blobs: createFsBlobMaintenance({ root: paths.root }) }, 1000);
  assert.deepEqual(r, { batches: 1, restored: 1, deleted: 1 });
  await pullImage(x.s.url, credsOf(x.w.acmeViewer), img.repository, img.commit);
  assert.equal((await fsckNow(x)).exitCode, 0);
});

test('a manifest naming a blob that vanished after its link check is taken back, not served broken', async () => {
  // As if a sweep took the file between the manifest's link check and its insert: the link is there, the file not.
  const img = await pushImage(x, 'api');
  const layer = randomBytes(5000);
  await x.client.uploadBlob(img.repository, sha256Of(layer), layer.length, () => Readable.from([layer]));
  const paths = storePaths(join(x.s.dataDir, 'storage'));
  await import('node:fs/promises').then((fs) => fs.rm(paths.blob(sha256Of(layer))));
  const config = Buffer.from('{"os":"linux","architecture":"amd64"}');
  await x.client.uploadBlob(img.repository, sha256Of(config), config.length, () => Readable.from([config]));
  const m = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: sha256Of(config), size: config.length },
    layers: [{ mediaType: MediaType.ociLayerGzip, digest: sha256Of(layer), size: layer.length }],
  }));
  await assert.rejects(x.client.putManifest(img.repository, 'broken', MediaType.ociManifest, m), /MANIFEST_BLOB_UNKNOWN.*upload|push it first/);
  const repo = (await x.s.metadata.repositories.get(img.repository))!;
  assert.equal(await x.s.metadata.manifests.get(repo.id, sha256Of(m)), null, 'the manifest was taken back');
  assert.equal(await x.s.metadata.tags.get(repo.id, 'broken'), null);
  await x.s.metadata.repositories.unlinkBlob(repo.id, sha256Of(layer)); // the dangling link this setup made by hand
  assert.equal((await fsckNow(x)).exitCode, 0);
});

test('two removed indexes that shared an untagged child can each be restored on its own', async () => {
  const repo = 'acme/multi';
  const child = async (arch: string) => {
    const layer = randomBytes(2000);
    const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux' }));
    for (const b of [layer, config]) await x.client.uploadBlob(repo, sha256Of(b), b.length, () => Readable.from([b]));
    const m = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: sha256Of(config), size: config.length },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: sha256Of(layer), size: layer.length }],
    }));
    await x.client.putManifest(repo, sha256Of(m), MediaType.ociManifest, m);
    return sha256Of(m);
  };
  const [shared, own1, own2] = [await child('amd64'), await child('arm64'), await child('s390x')];
  const index = async (tag: string, children: Digest[]) => {
    const b = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: children.map((d) => ({ mediaType: MediaType.ociManifest, digest: d, size: 1 })) }));
    await x.client.putManifest(repo, tag, MediaType.ociIndex, b);
    return sha256Of(b);
  };
  const [i1, i2] = [await index('one', [shared, own1]), await index('two', [shared, own2])];
  const md = x.s.metadata;
  const r = (await md.repositories.get(repo))!;
  const remove = (digest: Digest, cascade: Digest[]) => md.lifecycle.trash.remove({
    accountId: x.app.accountId, applicationId: null, repositoryId: r.id, repository: repo, digest, cascade, buildIds: [], reason: 'manual',
    removedBy: 'test', graceMs: 86_400_000, bytes: 0, guard: null,
  });
  const e1 = await remove(i1, [shared, own1]);
  const e2 = await remove(i2, [shared, own2]);
  if (!e1.ok || !e2.ok) assert.fail(`removals skipped: ${JSON.stringify([e1, e2])}`);
  assert.deepEqual(e1.entry.manifests.map((m) => m.digest), [i1, own1], 'the shared child stayed with the index that still named it');
  assert.deepEqual(e2.entry.manifests.map((m) => m.digest).sort(), [i2, shared, own2].sort());
  assert.equal((await apiCall(x.s, owner(), 'POST', `/accounts/acme/trash/${e1.entry.id}/restore`)).status, 200);
  for (const d of [i1, shared, own1]) assert.ok(await md.manifests.get(r.id, d), `${d} is back`);
  assert.equal(await md.manifests.get(r.id, own2), null);
  assert.equal((await apiCall(x.s, owner(), 'POST', `/accounts/acme/trash/${e2.entry.id}/restore`)).status, 200);
  assert.equal(await md.tags.get(r.id, 'two'), i2);
  assert.equal((await fsckNow(x)).exitCode, 0);
});
