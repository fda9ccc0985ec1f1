import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { apiCall } from '../support/world.ts';
import { credsOf, fsckNow, gcNow, makeShopWorld, pullImage, pushImage, recordDeployment, sleep, storeBytes, type Pushed, type ShopWorld } from './support.ts';

/*
 * Storage stays bounded under a retention policy while pushes and pulls go on, and nothing in use is lost:
 * a loop applies retention (no grace window) and collects garbage about once a second, for DURATION_MS, while
 * a puller fetches the kept images (deployed, or pulled before the policy was set) in full, verifying every
 * digest, and two pushers add images on two services and two branches. New images re-use base layers of older
 * images that retention has removed meanwhile, so pushes keep hitting the collector's classic race: "HEAD says
 * the layer exists, skip the upload" while a sweep is deciding about that very layer.
 */
const DURATION_MS = 20_000;
const BASES = Array.from({ length: 8 }, () => randomBytes(16_384));
const LAYER = 8192;
let x: ShopWorld;
let kept: Pushed[];

before(async () => {
  x = await makeShopWorld({ gcMinBlobAgeSeconds: 2, gcBatchSize: 8 });
});
after(() => x.stop());

test('retention and collection under load: zero failed pulls of kept images, fsck clean, storage back under the bound', async () => {
  const base = (i: number) => [BASES[Math.floor(i / 4) % BASES.length]!];
  let n = 0;
  const history: Record<string, Pushed[]> = { 'web main': [], 'api main': [], 'web dev': [] };
  const push = async (service: 'web' | 'api', branch: string) => {
    const p = await pushImage(x, service, { branch, shared: base(n++), layerSize: LAYER });
    history[`${service} ${branch}`]!.push(p);
    return p;
  };
  for (let i = 0; i < 4; i++) for (const [s, b] of [['web', 'main'], ['api', 'main'], ['web', 'dev']] as const) await push(s, b);
  // Previous and current deployment, and one image pulled before the policy exists: all must survive.
  const [w0, w1, w2] = history['web main']!;
  const [a0, a1] = history['api main']!;
  await recordDeployment(x.s.metadata, x, [{ service: 'web', pushed: w0! }, { service: 'api', pushed: a0! }]);
  await recordDeployment(x.s.metadata, x, [{ service: 'web', pushed: w1! }, { service: 'api', pushed: a1! }]);
  await pullImage(x.s.url, credsOf(x.w.acmeViewer), w2!.repository, w2!.commit);
  kept = [w0!, w1!, w2!, a0!, a1!];
  const set = await apiCall(x.s, x.w.acmeOwner.token, 'PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 3, graceDays: 0, keepPulledWithinDays: 30 });
  assert.equal(set.status, 200);

  let stop = false;
  const stats = { pulls: 0, pullFailures: [] as string[], pushes: 0, pushFailures: [] as string[], runs: 0, removed: 0, blobsFreed: 0, bytesFreed: 0, peakBytes: 0 };
  const puller = async () => {
    while (!stop) {
      const img = kept[Math.floor(Math.random() * kept.length)]!;
      try {
        await pullImage(x.s.url, credsOf(x.w.acmeViewer), img.repository, img.commit);
        stats.pulls++;
      } catch (err) {
        stats.pullFailures.push(`${img.repository}:${img.commit}: ${(err as Error).message}`);
      }
    }
  };
  const pusher = async () => {
    const lanes = [['web', 'main'], ['api', 'main'], ['web', 'dev']] as const;
    for (let i = 0; !stop; i++) {
      const [s, b] = lanes[i % lanes.length]!;
      try {
        await push(s, b);
        stats.pushes++;
      } catch (err) {
        stats.pushFailures.push((err as Error).message);
      }
    }
  };
  const collector = async () => {
    while (!stop) {
      const run = await gcNow(x);
      stats.runs++;
      stats.removed += run.report.retention.totals.removed;
      stats.blobsFreed += run.report.gc.blobs.deleted;
      stats.bytesFreed += run.report.gc.blobs.bytesFreed;
      stats.peakBytes = Math.max(stats.peakBytes, run.report.gc.blobs.bytesBefore);
      await sleep(700);
    }
  };
  const timer = sleep(DURATION_MS).then(() => { stop = true; });
  await Promise.all([timer, puller(), pusher(), pusher(), collector()]);
  console.log(`concurrent lifecycle: ${JSON.stringify({ ...stats, pullFailures: stats.pullFailures.length, pushFailures: stats.pushFailures.length })}`);

  assert.deepEqual(stats.pullFailures, [], 'every pull of a kept image succeeded');
  assert.deepEqual(stats.pushFailures, [], 'every push succeeded');
  assert.ok(stats.pulls > 50, `pulls: ${stats.pulls}`);
  assert.ok(stats.pushes >= 30, `pushes: ${stats.pushes}`);
  assert.ok(stats.runs >= 5 && stats.removed >= 15 && stats.blobsFreed >= 45, JSON.stringify(stats));

  // Settle: past the fence, one more pass removes and collects what the last pushes made old.
  await sleep(2500);
  await gcNow(x);
  const last = await gcNow(x);
  assert.equal(last.report.retention.totals.removed, 0, 'nothing left to remove');
  const fsck = await fsckNow(x);
  assert.equal(fsck.exitCode, 0, JSON.stringify(fsck.problems.slice(0, 5)));

  // Everything that must be there is complete: the kept images and the newest three of every branch.
  const newest = Object.values(history).flatMap((h) => h.slice(-3));
  for (const img of [...kept, ...newest]) await pullImage(x.s.url, credsOf(x.w.acmeViewer), img.repository, img.commit);
  // Storage is back under the bound: at most 5 kept + 3 per branch images, each 2 own layers + config + manifest,
  // plus the base layers.
  const images = new Set([...kept, ...newest].map((p) => p.digest)).size;
  const bound = images * (2 * LAYER + 2048) + BASES.length * BASES[0]!.length;
  const store = await storeBytes(x.s.dataDir);
  assert.ok(store.bytes <= bound, `store ${store.bytes} bytes > bound ${bound}`);
  assert.ok(store.bytes < stats.peakBytes, `store ${store.bytes} < peak ${stats.peakBytes}`);
  const removedCount = (await apiCall(x.s, x.w.acmeOwner.token, 'GET', '/accounts/acme/trash?all=true&limit=1000')).body.length;
  assert.ok(removedCount >= stats.removed, `trash ${removedCount} < removed ${stats.removed}`);
});
