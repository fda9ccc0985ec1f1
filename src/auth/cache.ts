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

interface Entry<V> { value: V; expiresAt: number; generation: number }

/**
 * A size-bounded map whose entries expire at a given time and die with their AuthCache generation.
 * When full, the oldest insertion is evicted (entries are re-inserted on write, so it is a write-LRU).
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #maxEntries: number;
  readonly #cache: AuthCache | undefined;

  constructor(opts: { maxEntries: number; cache?: AuthCache }) {
    this.#maxEntries = Math.max(1, opts.maxEntries);
    this.#cache = opts.cache;
  }

  /** The current generation, to capture before a lookup and pass to `set` after it. */
  get generation(): number {
    return this.#cache?.generation ?? 0;
  }

  /** The live value for `key` at time `now` (ms), or undefined. */
  get(key: string, now: number): V | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now || e.generation !== this.generation) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Stores `value` until `expiresAt` (ms); `generation` is the one captured before the lookup that produced it. */
  set(key: string, value: V, expiresAt: number, generation = this.generation): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt, generation });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
