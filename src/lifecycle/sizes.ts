import type { Digest } from '../core/digest.ts';
import { Lru } from '../core/lru.ts';

/** Sizes of stored blobs. The metadata store does not record blob sizes, the blob store does. */
export interface BlobSizes {
  /** Size in bytes, 0 when the blob is not stored. */
  of(digest: Digest): Promise<number>;
}

/**
 * Sizes through `stat`, cached: content is addressed by its digest, so a size never changes (a blob that is deleted
 * and uploaded again has the same size). Missing blobs are not cached.
 */
export function cachedSizes(stat: (d: Digest) => Promise<number | null>, maxEntries = 200_000): BlobSizes {
  const cache = new Lru<string, number>({ maxWeight: maxEntries, maxEntries });
  return {
    async of(digest) {
      const hit = cache.get(digest);
      if (hit !== undefined) return hit;
      const size = await stat(digest);
      if (size === null) return 0;
      cache.set(digest, size);
      return size;
    },
  };
}
