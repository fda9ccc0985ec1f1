import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Digest } from '../core/digest.ts';
import { digestOf, rejectsWith, withStore, type OpenStore } from './suite-helpers.ts';
import type { ManifestsRepo, Metadata } from './types.ts';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const IMAGE = 'application/vnd.oci.image.manifest.v1+json';

/** A manifest record for put(), with overridable fields. */
function manifest(repositoryId: string, digest: Digest, extra: Partial<Parameters<ManifestsRepo['put']>[0]> = {}) {
  return {
    repositoryId, digest, mediaType: IMAGE, size: 1234, artifactType: null, subject: null, annotations: null,
    blobs: [digestOf('c'), digestOf('d')], children: [], ...extra,
  };
}

/** Contract tests for repositories, blob links, manifests, referrers and tags. */
export function registrySuite(open: OpenStore): void {
  const run = (fn: (m: Metadata) => Promise<void>) => () => withStore(open, fn);

  describe('repositories', () => {
    test('ensure creates once and derives the namespace; get', run(async (m) => {
      assert.equal(await m.repositories.get('acme/web.api'), null);
      const r = await m.repositories.ensure('acme/web.api');
      assert.equal(r.name, 'acme/web.api');
      assert.equal(r.namespace, 'acme');
      assert.deepEqual(await m.repositories.ensure('acme/web.api'), r);
      assert.deepEqual(await m.repositories.get('acme/web.api'), r);
      const raced = await Promise.all([1, 2, 3].map(() => m.repositories.ensure('acme/raced')));
      assert.equal(new Set(raced.map((x) => x.id)).size, 1);
    }));
    test('ensure refuses a name outside the OCI grammar', run(async (m) => {
      await rejectsWith(m.repositories.ensure('Acme/Web'), 'NAME_INVALID');
    }));
    test('list: bytewise order, last exclusive, limit, namespaces', run(async (m) => {
      const names = ['beta/z', 'acme/a_b', 'acme/a.b', 'acme/a-b', 'acme/ab', 'acme/a/b', 'acme/a', 'acme2/x'];
      for (const n of names) await m.repositories.ensure(n);
      const sorted = [...names].sort(); // JS sorts by UTF-16 code unit: bytewise for ASCII
      assert.deepEqual(await m.repositories.list({ limit: 100, namespaces: null }), sorted);
      assert.deepEqual(await m.repositories.list({ limit: 3, namespaces: null }), sorted.slice(0, 3));
      assert.deepEqual(await m.repositories.list({ last: sorted[2], limit: 3, namespaces: null }), sorted.slice(3, 6));
      assert.deepEqual(await m.repositories.list({ last: sorted.at(-1), limit: 3, namespaces: null }), []);
      assert.deepEqual(await m.repositories.list({ last: 'acme/a.c', limit: 100, namespaces: null }), sorted.filter((n) => n > 'acme/a.c'));
      assert.deepEqual(await m.repositories.list({ limit: 0, namespaces: null }), []);
      assert.deepEqual(await m.repositories.list({ limit: 100, namespaces: ['acme'] }), sorted.filter((n) => n.startsWith('acme/')));
      assert.deepEqual(await m.repositories.list({ limit: 100, namespaces: ['beta', 'acme2'] }), ['acme2/x', 'beta/z']);
      assert.deepEqual(await m.repositories.list({ limit: 2, last: 'acme/a', namespaces: ['acme', 'beta'] }), ['acme/a-b', 'acme/a.b']);
      assert.deepEqual(await m.repositories.list({ limit: 100, namespaces: [] }), []);
      assert.deepEqual(await m.repositories.list({ limit: 100, namespaces: ['nobody'] }), []);
    }));
    test('linkBlob, hasBlob, unlinkBlob are per repository and idempotent', run(async (m) => {
      const a = await m.repositories.ensure('acme/a');
      const b = await m.repositories.ensure('acme/b');
      const d = digestOf('a');
      assert.equal(await m.repositories.hasBlob(a.id, d), false);
      await m.repositories.linkBlob(a.id, d);
      await m.repositories.linkBlob(a.id, d);
      assert.equal(await m.repositories.hasBlob(a.id, d), true);
      assert.equal(await m.repositories.hasBlob(b.id, d), false);
      await m.repositories.unlinkBlob(a.id, d);
      await m.repositories.unlinkBlob(a.id, d);
      assert.equal(await m.repositories.hasBlob(a.id, d), false);
      await rejectsWith(m.repositories.linkBlob('missing', d), 'NAME_UNKNOWN');
    }));
  });

  describe('manifests', () => {
    test('put and get round-trip every field; put is idempotent', run(async (m) => {
      const r = await m.repositories.ensure('acme/a');
      const other = await m.repositories.ensure('acme/b');
      const d = digestOf('1');
      const input = manifest(r.id, d, {
        artifactType: 'application/vnd.example+json', subject: digestOf('2'), annotations: { 'org.example': 'yes', ü: 'ß' },
      });
      await m.manifests.put(input);
      const got = await m.manifests.get(r.id, d);
      assert.ok(got);
      const { blobs: _b, children: _c, ...fields } = input;
      assert.deepEqual({ ...got, createdAt: 'x' }, { ...fields, createdAt: 'x' });
      assert.ok(!Number.isNaN(Date.parse(got.createdAt)));
      await m.manifests.put({ ...input, blobs: [...input.blobs, ...input.blobs] });
      assert.deepEqual(await m.manifests.get(r.id, d), got, 'a second put changes nothing');
      assert.equal(await m.manifests.get(other.id, d), null);
      assert.equal(await m.manifests.get(r.id, digestOf('9')), null);
      await m.manifests.put(manifest(r.id, digestOf('3'), { mediaType: INDEX, blobs: [], children: [d, digestOf('4')] }));
      assert.equal((await m.manifests.get(r.id, digestOf('3')))?.mediaType, INDEX);
      await rejectsWith(m.manifests.put(manifest('missing', d)), 'NAME_UNKNOWN');
    }));
    test('a manifest referencing many blobs is stored', run(async (m) => {
      const r = await m.repositories.ensure('acme/a');
      const blobs = Array.from({ length: 1200 }, (_, i) => `sha256:${i.toString(16).padStart(64, '0')}` as Digest);
      await m.manifests.put(manifest(r.id, digestOf('1'), { blobs }));
      assert.notEqual(await m.manifests.get(r.id, digestOf('1')), null);
    }));
    test('referrers: by subject, optionally by artifactType, within the repository', run(async (m) => {
      const r = await m.repositories.ensure('acme/a');
      const other = await m.repositories.ensure('acme/b');
      const subject = digestOf('5');
      await m.manifests.put(manifest(r.id, subject));
      await m.manifests.put(manifest(r.id, digestOf('a'), { subject, artifactType: 'application/sig' }));
      await m.manifests.put(manifest(r.id, digestOf('b'), { subject, artifactType: 'application/sbom' }));
      await m.manifests.put(manifest(r.id, digestOf('c'), { subject: digestOf('6'), artifactType: 'application/sig' }));
      await m.manifests.put(manifest(other.id, digestOf('d'), { subject, artifactType: 'application/sig' }));
      const all = await m.manifests.referrers(r.id, subject);
      assert.deepEqual(all.map((x) => x.digest).sort(), [digestOf('a'), digestOf('b')]);
      assert.ok(all.every((x) => x.repositoryId === r.id && x.subject === subject));
      const sigs = await m.manifests.referrers(r.id, subject, 'application/sig');
      assert.deepEqual(sigs.map((x) => x.digest), [digestOf('a')]);
      assert.deepEqual(await m.manifests.referrers(r.id, subject, 'application/none'), []);
      assert.deepEqual(await m.manifests.referrers(r.id, digestOf('7')), []);
    }));
    test('delete removes the manifest and only the tags pointing at it', run(async (m) => {
      const r = await m.repositories.ensure('acme/a');
      await m.manifests.put(manifest(r.id, digestOf('1')));
      await m.manifests.put(manifest(r.id, digestOf('2')));
      await m.tags.set(r.id, 'v1', digestOf('1'));
      await m.tags.set(r.id, 'latest', digestOf('1'));
      await m.tags.set(r.id, 'v2', digestOf('2'));
      await m.manifests.delete(r.id, digestOf('1'));
      assert.equal(await m.manifests.get(r.id, digestOf('1')), null);
      assert.equal(await m.tags.get(r.id, 'v1'), null);
      assert.equal(await m.tags.get(r.id, 'latest'), null);
      assert.equal(await m.tags.get(r.id, 'v2'), digestOf('2'));
      assert.deepEqual(await m.tags.list(r.id, { limit: 10 }), ['v2']);
      await m.manifests.delete(r.id, digestOf('1')); // deleting twice is a no-op
      await m.manifests.put(manifest(r.id, digestOf('1'))); // and it can be stored again
      assert.notEqual(await m.manifests.get(r.id, digestOf('1')), null);
    }));
  });

  describe('tags', () => {
    test('set, get, overwrite, delete', run(async (m) => {
      const r = await m.repositories.ensure('acme/a');
      const other = await m.repositories.ensure('acme/b');
      await m.manifests.put(manifest(r.id, digestOf('1')));
      await m.manifests.put(manifest(r.id, digestOf('2')));
      assert.equal(await m.tags.get(r.id, 'latest'), null);
      await m.tags.set(r.id, 'latest', digestOf('1'));
      assert.equal(await m.tags.get(r.id, 'latest'), digestOf('1'));
      assert.equal(await m.tags.get(other.id, 'latest'), null);
      await m.tags.set(r.id, 'latest', digestOf('2'));
      assert.equal(await m.tags.get(r.id, 'latest'), digestOf('2'));
      await m.tags.delete(r.id, 'latest');
      await m.tags.delete(r.id, 'latest');
      assert.equal(await m.tags.get(r.id, 'latest'), null);
    }));
    test('set to a manifest the repository does not hold is MANIFEST_UNKNOWN', run(async (m) => {
      const r = await m.repositories.ensure('acme/a');
      const other = await m.repositories.ensure('acme/b');
      await m.manifests.put(manifest(other.id, digestOf('1')));
      await rejectsWith(m.tags.set(r.id, 'latest', digestOf('1')), 'MANIFEST_UNKNOWN');
    }));
    test('list: bytewise order, last exclusive, limit, per repository', run(async (m) => {
      const r = await m.repositories.ensure('acme/a');
      const other = await m.repositories.ensure('acme/b');
      await m.manifests.put(manifest(r.id, digestOf('1')));
      await m.manifests.put(manifest(other.id, digestOf('1')));
      const tags = ['v1.0', 'v1-rc', 'V2', 'latest', 'a_b', 'a.b', '_x', 'Z9', '0abc'];
      for (const t of tags) await m.tags.set(r.id, t, digestOf('1'));
      await m.tags.set(other.id, 'elsewhere', digestOf('1'));
      const sorted = [...tags].sort();
      assert.deepEqual(await m.tags.list(r.id, { limit: 100 }), sorted);
      assert.deepEqual(await m.tags.list(r.id, { limit: 4 }), sorted.slice(0, 4));
      assert.deepEqual(await m.tags.list(r.id, { last: sorted[3], limit: 4 }), sorted.slice(4, 8));
      assert.deepEqual(await m.tags.list(r.id, { last: sorted.at(-1), limit: 4 }), []);
      assert.deepEqual(await m.tags.list(r.id, { limit: 0 }), []);
      assert.deepEqual(await m.tags.list('missing', { limit: 10 }), []);
    }));
  });
}
