/**
 * Short-lived caches for the registry hot path, and the one switch that empties them all.
 *
 * Every registry request authenticates (Basic) or checks access; without a cache each would cost a few database
 * round trips. Entries live a few seconds, so a change made on another server node is seen within that time; on this
 * node, rotating a password, revoking a token or changing a membership calls `AuthCache.invalidate()`, which makes
 * every entry stored before the call a miss at once. Invalidation is a generation number rather than a list of
 * listeners, so caches need no registration and a lookup that started before the invalidation can never store a
 * stale answer after it (it is stored under the old generation and is already a miss).
 */

/** The shared invalidation switch: bump `generation` and every cached entry made earlier stops counting. */
export interface AuthCache {
  readonly generation: number;
  /** Makes every entry cached so far (by any ExpiringMap bound to this cache) a miss. */
  invalidate(): void;
}

/** A new AuthCache (one per server process; pass the same object to people, authenticator and access rules). */
export function createAuthCache(): AuthCache {
  let generation = 0;
  return {
    get generation() {
      return generation;
    },
    invalidate() {
      generation += 1;
    },
  };
}

export { ExpiringMap } from '../core/expiring-map.ts';
