/**
 * A size-bounded map whose entries expire, for short-lived caches of database answers (authentication, access,
 * registry reads). Invalidation is a generation number rather than a list of listeners: bumping it makes every entry
 * stored before a miss at once, and a lookup that started before the bump stores its (possibly stale) answer under the
 * old generation, so it is already a miss.
 */

/** Anything with a generation number that only grows; entries stored under an older one are misses. */
export interface GenerationSource { readonly generation: number }

interface Entry<V> { value: V; expiresAt: number; generation: number }

/**
 * A size-bounded map whose entries expire at a given time and die with their GenerationSource's generation.
 * When full, the oldest insertion is evicted (entries are re-inserted on write, so it is a write-LRU).
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #maxEntries: number;
  readonly #cache: GenerationSource | undefined;

  constructor(opts: { maxEntries: number; cache?: GenerationSource }) {
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
