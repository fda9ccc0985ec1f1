import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openSqlite, withReadCache, type Metadata } from './index.ts';
import { digestOf } from './suite-helpers.ts';
import { runMetadataSuite } from './suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'buildgrid-readcache-'));
let n = 0;
const freshPath = () => join(dir, `store-${++n}.db`);
after(() => rmSync(dir, { recursive: true, force: true }));

// The whole metadata contract through the cache with a long TTL: any write the suite makes and then reads back
// would fail here if it did not empty the cache.
const cachedSqlite = async (path: string) => withReadCache(await openSqlite({ path }), { ttlMs: 60_000 });
runMetadataSuite('sqlite behind the registry read cache', () => cachedSqlite(freshPath()), {
  async openTwins() {
    const path = freshPath();
    const first = await cachedSqlite(path);
    return [first, await cachedSqlite(path)];
  },
});

const manifestInput = (repositoryId: string, digest: `sha256:${string}`) => ({
  repositoryId, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10, subject: null, artifactType: null, annotations: null, blobs: [], children: [],
});

/** Two handles on one file: `cached` (this node, with the cache) and `other` (another node writing the same database). */
async function twoNodes(ttlMs: number) {
  const path = freshPath();
  const clock = { t: 1_000_000 };
  const cached = withReadCache(await openSqlite({ path }), { ttlMs, now: () => clock.t });
  const other = await openSqlite({ path });
  const repo = await cached.repositories.ensure('acme/web');
  const d1 = digestOf('one');
  const d2 = digestOf('two');
  for (const d of [d1, d2]) {
    await other.manifests.put(manifestInput(repo.id, d));
  }
  return { cached, other, repo, d1, d2, clock, close: async () => { await cached.close(); await other.close(); } };
}

describe('registry read cache', () => {
  test('repeated lookups are answered from memory; another node\'s change shows once the entry expires', async () => {
    const { cached, other, repo, d1, d2, clock, close } = await twoNodes(2000);
    try {
      await other.tags.set(repo.id, 'latest', d1);
      assert.equal(await cached.tags.get(repo.id, 'latest'), d1);
      assert.ok(await cached.manifests.get(repo.id, d1));
      assert.ok(await cached.repositories.get('acme/web'));
      const before = cached.readCache.stats();
      for (let i = 0; i < 5; i++) {
        await cached.tags.get(repo.id, 'latest');
        await cached.manifests.get(repo.id, d1);
        await cached.repositories.get('acme/web');
      }
      const mid = cached.readCache.stats();
      assert.equal(mid.hits - before.hits, 15);
      assert.equal(mid.misses, before.misses);

      await other.tags.set(repo.id, 'latest', d2); // another node moves the tag
      clock.t += 1999;
      assert.equal(await cached.tags.get(repo.id, 'latest'), d1, 'within the TTL the old answer may be served');
      clock.t += 2;
      assert.equal(await cached.tags.get(repo.id, 'latest'), d2, 'after the TTL the move is seen');

      await other.manifests.delete(repo.id, d2); // another node removes the manifest (and its tag)
      clock.t += 2001;
      assert.equal(await cached.tags.get(repo.id, 'latest'), null);
      assert.equal(await cached.manifests.get(repo.id, d2), null);
    } finally {
      await close();
    }
  });

  test('a tag or manifest that did not exist is never cached: a push on another node is visible at once', async () => {
    const { cached, other, repo, d1, close } = await twoNodes(60_000);
    try {
      assert.equal(await cached.tags.get(repo.id, 'v1'), null);
      assert.equal(await cached.repositories.get('acme/new'), null);
      await other.tags.set(repo.id, 'v1', d1);
      await other.repositories.ensure('acme/new');
      assert.equal(await cached.tags.get(repo.id, 'v1'), d1);
      assert.ok(await cached.repositories.get('acme/new'));
    } finally {
      await close();
    }
  });

  test('writes made through the cached store are seen at once on this node', async () => {
    const { cached, repo, d1, d2, close } = await twoNodes(60_000);
    try {
      await cached.tags.set(repo.id, 'latest', d1);
      assert.equal(await cached.tags.get(repo.id, 'latest'), d1);
      await cached.tags.set(repo.id, 'latest', d2);
      assert.equal(await cached.tags.get(repo.id, 'latest'), d2);
      await cached.tags.delete(repo.id, 'latest');
      assert.equal(await cached.tags.get(repo.id, 'latest'), null);
      await cached.tags.set(repo.id, 'keep', d1);
      assert.ok(await cached.manifests.get(repo.id, d1));
      await cached.manifests.delete(repo.id, d1);
      assert.equal(await cached.manifests.get(repo.id, d1), null);
      assert.equal(await cached.tags.get(repo.id, 'keep'), null, 'deleting a manifest drops its cached tags too');
      assert.ok(cached.readCache.stats().invalidations >= 8);
    } finally {
      await close();
    }
  });

  test('a lookup that started before a write cannot leave a stale entry behind', async () => {
    const path = freshPath();
    const base: Metadata = await openSqlite({ path });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const repo = await base.repositories.ensure('acme/web');
    const d1 = digestOf('one');
    const d2 = digestOf('two');
    for (const d of [d1, d2]) await base.manifests.put(manifestInput(repo.id, d));
    await base.tags.set(repo.id, 'latest', d1);
    // A slow read: it has already read d1 when the write below happens, and answers after it.
    const slow: Metadata = { ...base, tags: { ...base.tags, get: async (r, t) => { const v = await base.tags.get(r, t); await gate; return v; } } };
    const cached = withReadCache(slow, { ttlMs: 60_000 });
    try {
      const pending = cached.tags.get(repo.id, 'latest');
      await new Promise((r) => setTimeout(r, 20));
      await cached.tags.set(repo.id, 'latest', d2);
      release();
      assert.equal(await pending, d1, 'the slow lookup answers what it read');
      assert.equal(await cached.tags.get(repo.id, 'latest'), d2, 'but its answer was not kept');
    } finally {
      await base.close();
    }
  });

  test('ttl 0 turns the cache off', async () => {
    const { cached, other, repo, d1, d2, close } = await twoNodes(0);
    try {
      await other.tags.set(repo.id, 'latest', d1);
      assert.equal(await cached.tags.get(repo.id, 'latest'), d1);
      await other.tags.set(repo.id, 'latest', d2);
      assert.equal(await cached.tags.get(repo.id, 'latest'), d2);
      assert.equal(cached.readCache.stats().hits, 0);
    } finally {
      await close();
    }
  });
});
