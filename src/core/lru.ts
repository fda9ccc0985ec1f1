/** A small least-recently-used cache bounded by total weight (e.g. bytes) and entry count. */
export class Lru<K, V> {
  private readonly map = new Map<K, { v: V; w: number }>();
  private weight = 0;
  constructor(private readonly opts: { maxWeight: number; maxEntries?: number; weigh?: (v: V) => number }) {}

  /** The cached value (refreshing its recency), or undefined. */
  get(k: K): V | undefined {
    const e = this.map.get(k);
    if (!e) return undefined;
    this.map.delete(k);
    this.map.set(k, e);
    return e.v;
  }

  /** Caches `v`; values heavier than the whole budget are not cached. */
  set(k: K, v: V): void {
    const w = this.opts.weigh ? this.opts.weigh(v) : 1;
    if (w > this.opts.maxWeight) return;
    this.delete(k);
    this.map.set(k, { v, w });
    this.weight += w;
    const maxEntries = this.opts.maxEntries ?? Infinity;
    while (this.weight > this.opts.maxWeight || this.map.size > maxEntries) {
      const oldest = this.map.keys().next().value as K;
      this.delete(oldest);
    }
  }

  delete(k: K): void {
    const e = this.map.get(k);
    if (!e) return;
    this.map.delete(k);
    this.weight -= e.w;
  }

  clear(): void {
    this.map.clear();
    this.weight = 0;
  }
}
