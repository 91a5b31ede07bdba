/**
 * Small files kept in memory, by fid. A MogileFS fid's bytes never change (a
 * write is a new fid), so a cached body is valid for as long as the key's
 * lookup (cached for --cache-time) still names that fid: no expiry needed,
 * only a bound on memory. Hot images are then served without asking a
 * storage node, which is most of what makes a small-file GET cheap. Files
 * above `maxFileBytes` are always streamed, never held whole.
 */
export class BodyCache {
  /** Insertion order is recency: a hit moves its entry to the end. */
  private readonly entries = new Map<number, Buffer>();
  private bytes = 0;

  constructor(readonly maxBytes: number, readonly maxFileBytes: number) {}

  /** Whether a file of this length is kept here. */
  wants(length: number): boolean {
    return this.maxBytes > 0 && length > 0 && length <= this.maxFileBytes && length <= this.maxBytes;
  }

  get(fid: number): Buffer | undefined {
    const b = this.entries.get(fid);
    if (b) {
      this.entries.delete(fid);
      this.entries.set(fid, b);
    }
    return b;
  }

  set(fid: number, body: Buffer): void {
    if (!this.wants(body.length) || this.entries.has(fid)) return;
    this.entries.set(fid, body);
    this.bytes += body.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }

  get size(): { files: number; bytes: number } {
    return { files: this.entries.size, bytes: this.bytes };
  }
}
