import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Digest } from '../core/digest.ts';
import type { InventoryManifest } from '../metadata/types.ts';
import { evaluateRepository, type ImageFacts, type PolicyRules } from './policy.ts';

const D = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const DAY = 86_400_000;
const NOW = Date.parse('2030-01-31T00:00:00Z');
const rules = (r: Partial<PolicyRules> = {}): PolicyRules => ({ keepLastPerBranch: null, keepNewerThanMs: null, keepPulledWithinMs: 0, keepRestoredWithinMs: 0, ...r });

function manifest(d: Digest, o: Partial<InventoryManifest> = {}): InventoryManifest {
  return { repositoryId: 'r', digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, subject: null, createdAt: '2030-01-01T00:00:00Z', tags: [], blobs: [], children: [], ...o };
}
function image(d: Digest, daysOld: number, o: Partial<ImageFacts> = {}): ImageFacts {
  return { repositoryId: 'r', repository: 'acme/app.web', digest: d, tags: [{ name: d.slice(7, 15), updatedAt: '' }], producedAt: NOW - daysOld * DAY, branch: 'main', buildIds: [], lastPulledAt: null, restoredAt: null, deployed: false, ...o };
}
const going = (ds: ReturnType<typeof evaluateRepository>) => ds.filter((d) => !d.keep).map((d) => d.image.digest).sort();

test('keep last N per branch: each branch keeps its own newest N; untracked images form one group', () => {
  const imgs = [
    image(D('1'), 1), image(D('2'), 2), image(D('3'), 3),
    image(D('4'), 1, { branch: 'dev' }), image(D('5'), 9, { branch: 'dev' }),
    image(D('6'), 5, { branch: null }), image(D('7'), 6, { branch: null }),
  ];
  const ds = evaluateRepository(rules({ keepLastPerBranch: 1 }), imgs, imgs.map((i) => manifest(i.digest)), NOW);
  assert.deepEqual(going(ds), [D('2'), D('3'), D('5'), D('7')]);
  assert.deepEqual(ds.find((d) => d.image.digest === D('4'))!.reasons, ['last 1 of dev']);
});

test('rules combine as a union of keeps: age, deployment and recent pulls each keep an image', () => {
  const imgs = [
    image(D('1'), 0.5), // newest
    image(D('2'), 2), // newer than 3 days
    image(D('3'), 10, { deployed: true }),
    image(D('4'), 10, { lastPulledAt: NOW - 2 * DAY }),
    image(D('5'), 10, { lastPulledAt: NOW - 20 * DAY }),
    image(D('6'), 10),
    image(D('7'), 10, { restoredAt: NOW - DAY }),
    image(D('8'), 10, { restoredAt: NOW - 9 * DAY }),
  ];
  const ds = evaluateRepository(rules({ keepLastPerBranch: 1, keepNewerThanMs: 3 * DAY, keepPulledWithinMs: 7 * DAY, keepRestoredWithinMs: 7 * DAY }), imgs, imgs.map((i) => manifest(i.digest)), NOW);
  assert.deepEqual(going(ds), [D('5'), D('6'), D('8')]);
  assert.deepEqual(ds.find((d) => d.image.digest === D('7'))!.reasons, ['restored recently']);
  assert.deepEqual(ds.find((d) => d.image.digest === D('1'))!.reasons, ['last 1 of main', 'newer than the age limit']);
  assert.deepEqual(ds.find((d) => d.image.digest === D('3'))!.reasons, ['deployed']);
  assert.deepEqual(ds.find((d) => d.image.digest === D('4'))!.reasons, ['pulled recently']);
});

test('a kept index keeps its (tagged) children; a kept referrer keeps its subject; a kept image keeps its referrers', () => {
  const index = image(D('a'), 0);
  const child = image(D('b'), 30);
  const signed = image(D('c'), 30);
  const signature = image(D('d'), 0, { branch: 'sigs' });
  const old = image(D('e'), 30);
  const sbomOfOld = manifest(D('f'), { subject: D('e') });
  const imgs = [index, child, signed, signature, old];
  const ms = [
    manifest(D('a'), { children: [D('b')] }), manifest(D('b')), manifest(D('c')), manifest(D('d'), { subject: D('c') }), manifest(D('e')), sbomOfOld,
  ];
  const ds = evaluateRepository(rules({ keepNewerThanMs: DAY }), imgs, ms, NOW);
  assert.deepEqual(going(ds), [D('e')]);
  assert.deepEqual(ds.find((d) => d.image.digest === D('b'))!.reasons, ['referenced by a kept image']);
  assert.deepEqual(ds.find((d) => d.image.digest === D('c'))!.reasons, ['referenced by a kept image']);
  // The untagged referrer of the removed image goes with it.
  assert.deepEqual(ds.find((d) => d.image.digest === D('e'))!.cascade, [D('f')]);
});

test('untagged children go with their index, once each; removal order puts indexes before their tagged children', () => {
  const idx1 = image(D('1'), 30);
  const idx2 = image(D('2'), 31);
  const tagged = image(D('3'), 32);
  const ms = [
    manifest(D('1'), { children: [D('a'), D('b')] }),
    manifest(D('2'), { children: [D('b'), D('3')] }),
    manifest(D('3')), manifest(D('a')), manifest(D('b')),
  ];
  const ds = evaluateRepository(rules({ keepNewerThanMs: DAY }), [tagged, idx1, idx2], ms, NOW).filter((d) => !d.keep);
  const order = ds.map((d) => d.image.digest);
  assert.ok(order.indexOf(D('2')) < order.indexOf(D('3')), 'the index goes before its tagged child');
  const cascades = ds.flatMap((d) => d.cascade).sort();
  assert.deepEqual(cascades, [D('a'), D('b')], 'each untagged child is assigned to exactly one removal');
});

test('nothing is kept by a rule that is not set, and an empty repository decides nothing', () => {
  assert.deepEqual(evaluateRepository(rules({ keepLastPerBranch: 2 }), [], [], NOW), []);
  const imgs = [image(D('1'), 400), image(D('2'), 500), image(D('3'), 600)];
  const ds = evaluateRepository(rules({ keepLastPerBranch: 2 }), imgs, imgs.map((i) => manifest(i.digest)), NOW);
  assert.deepEqual(going(ds), [D('3')], 'keep-last keeps the newest regardless of age');
});
