/**
 * A small time-limited cache: entries are fresh for `ttlMs` after they were
 * set, then ignored (and dropped when next touched). The view keeps listings
 * and lookups in these, and updates them itself after its own writes, so a
 * mount sees its own changes at once and other mounts' within the TTL.
 */
export class TtlCache<K, V> {
  private readonly map = new Map<K, { value: V; expires: number }>();

  constructor(private readonly ttlMs: number, private readonly maxEntries = 100_000) {}

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= Date.now()) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: K, value: V): void {
    if (this.ttlMs <= 0) return;
    if (this.map.size >= this.maxEntries) this.prune();
    this.map.delete(key);
    this.map.set(key, { value, expires: Date.now() + this.ttlMs });
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  /** Drops every entry whose key matches. */
  deleteWhere(match: (key: K) => boolean): void {
    for (const k of this.map.keys()) if (match(k)) this.map.delete(k);
  }

  clear(): void {
    this.map.clear();
  }

  /** Expired entries go; if still full, the oldest half (insertion order) goes too. */
  private prune(): void {
    const now = Date.now();
    for (const [k, e] of this.map) if (e.expires <= now) this.map.delete(k);
    if (this.map.size < this.maxEntries) return;
    let n = Math.floor(this.map.size / 2);
    for (const k of this.map.keys()) {
      if (n-- <= 0) break;
      this.map.delete(k);
    }
  }
}
