/**
 * Storage nodes this gateway found dead lately. The tracker's monitor learns
 * of a dead node within a few seconds, but until then (and for a tracker that
 * still lists it first) every request would wait for it to refuse or time
 * out before failing over; so a node that failed is tried last for a while,
 * as MogileFS::Backend does with a tracker that failed.
 */
export class DeadNodes {
  private readonly until = new Map<string, number>();

  constructor(private readonly retryMs = 5000) {}

  /** `origin` is "http://host:port". */
  markDead(origin: string): void {
    this.until.set(origin, Date.now() + this.retryMs);
  }

  isDead(origin: string, now = Date.now()): boolean {
    const t = this.until.get(origin);
    if (t === undefined) return false;
    if (t > now) return true;
    this.until.delete(origin);
    return false;
  }

  /** `paths` with those on nodes that failed lately moved to the end (order otherwise kept). */
  order(paths: string[]): string[] {
    if (this.until.size === 0) return paths;
    const now = Date.now();
    const alive: string[] = [];
    const dead: string[] = [];
    for (const p of paths) (this.isDead(originOf(p), now) ? dead : alive).push(p);
    return dead.length === 0 ? paths : [...alive, ...dead];
  }
}

/** "http://host:port" of a storage URL (the text before the path). */
export function originOf(url: string): string {
  const i = url.indexOf('/', url.indexOf('//') + 2);
  return i < 0 ? url : url.slice(0, i);
}
