import { ExpiringMap } from '../core/expiring-map.ts';
import type { Digest } from '../core/digest.ts';
import type { LifecycleRepos } from './lifecycle-types.ts';
import type { ManifestRecord, Metadata, Repository } from './types.ts';

/** How the read cache behaves; `ttlMs` 0 (or less) turns it off. */
export interface ReadCacheOptions {
  ttlMs: number;
  /** Most entries per kind (repositories, tags, manifests); default 20 000. */
  maxEntries?: number;
  now?: () => number;
}

/** What the cache did, for /metrics and tests. */
export interface ReadCacheStats { hits: number; misses: number; invalidations: number }

/** The metadata store with cached registry reads, plus the cache's counters and its manual switch. */
export type CachedMetadata = Metadata & { readonly readCache: { stats(): ReadCacheStats; invalidate(): void } };

/**
 * Wraps `md` so the three lookups of every pull — repository by name, tag → digest, manifest record — are answered
 * from memory for up to `ttlMs` after a database answer. Without it a manifest GET costs three queries, which on
 * PostgreSQL made the database, not BuildGrid, the limit (a node at 0.7 cores with PostgreSQL at 1.1).
 *
 * Consistency: only found rows are cached (a tag pushed on any node is visible at once everywhere). Every write made
 * through this object that can change or remove what is cached — tags.set/delete, manifests.put/delete, and the
 * lifecycle's removals, restores, purges and sweeps — empties the whole cache, before and after it runs, so this node
 * never answers from before its own write. Another node's write (a moved or removed tag, a removed manifest) is seen
 * here within `ttlMs`. Blobs of removed images stay stored for the trash's grace window, so a pull answered from a
 * just-stale entry still completes.
 */
export function withReadCache(md: Metadata, opts: ReadCacheOptions): CachedMetadata {
  const counters: ReadCacheStats = { hits: 0, misses: 0, invalidations: 0 };
  const switchboard = { generation: 0 };
  const invalidate = () => {
    switchboard.generation += 1;
    counters.invalidations += 1;
  };
  const readCache = { stats: () => ({ ...counters }), invalidate };
  if (opts.ttlMs <= 0) return { ...md, readCache };

  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? 20_000;
  const cached = <A extends unknown[], V>(key: (...a: A) => string, load: (...a: A) => Promise<V | null>): ((...a: A) => Promise<V | null>) => {
    const map = new ExpiringMap<V>({ maxEntries, cache: switchboard });
    return async (...a) => {
      const k = key(...a);
      const t = now();
      const hit = map.get(k, t);
      if (hit !== undefined) {
        counters.hits += 1;
        return hit;
      }
      counters.misses += 1;
      const generation = switchboard.generation;
      const value = await load(...a);
      if (value !== null) map.set(k, value, t + opts.ttlMs, generation);
      return value;
    };
  };
  /** `fn` with the cache emptied before it starts and after it settles. */
  const invalidating = <A extends unknown[], R>(fn: (...a: A) => Promise<R>): ((...a: A) => Promise<R>) => async (...a) => {
    invalidate();
    try {
      return await fn(...a);
    } finally {
      invalidate();
    }
  };

  const { repositories, tags, manifests, lifecycle } = md;
  const trash = lifecycle.trash;
  const gc = lifecycle.gc;
  const wrappedLifecycle: LifecycleRepos = {
    ...lifecycle,
    trash: {
      ...trash,
      remove: invalidating(trash.remove.bind(trash)),
      restore: invalidating(trash.restore.bind(trash)),
      purge: invalidating(trash.purge.bind(trash)),
      purgeExpired: invalidating(trash.purgeExpired.bind(trash)),
    },
    gc: { ...gc, sweep: invalidating(gc.sweep.bind(gc)), deleteLink: invalidating(gc.deleteLink.bind(gc)) },
  };
  return {
    ...md,
    readCache,
    repositories: {
      ...repositories,
      get: cached<[string], Repository>((name) => name, repositories.get.bind(repositories)),
    },
    tags: {
      ...tags,
      get: cached<[string, string], Digest>((repo, tag) => `${repo}\0${tag}`, tags.get.bind(tags)),
      set: invalidating(tags.set.bind(tags)),
      delete: invalidating(tags.delete.bind(tags)),
    },
    manifests: {
      ...manifests,
      get: cached<[string, Digest], ManifestRecord>((repo, digest) => `${repo}\0${digest}`, manifests.get.bind(manifests)),
      put: invalidating(manifests.put.bind(manifests)),
      delete: invalidating(manifests.delete.bind(manifests)),
    },
    lifecycle: wrappedLifecycle,
  };
}
