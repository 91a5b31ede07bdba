/**
 * What `df` shows: the devices' real space (get_devices' mb_total and
 * mb_used over every device not marked dead), divided by the replica count
 * of the class new files get, so "available" is about how much more can be
 * stored. Asked at most every few seconds.
 */
import { MogileFSAdmin } from '../client';
import type { TrackerClient } from '../client';
import type { StatFs } from './types';

const TTL_MS = 5000;
const MB = 1024 * 1024;

export class Space {
  private readonly admin: MogileFSAdmin;
  private readonly cached = new Map<string, { at: number; value: StatFs }>();

  constructor(tracker: TrackerClient) {
    this.admin = new MogileFSAdmin({ tracker });
  }

  /** `domain` and `cls` pick the replica count (mindevcount); without them the count is 1. */
  async statfs(domain?: string, cls = 'default'): Promise<StatFs> {
    const id = `${domain ?? ''}\n${cls}`;
    const hit = this.cached.get(id);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    const [devices, domains] = await Promise.all([this.admin.getDevices(), domain ? this.admin.getDomains() : Promise.resolve([])]);
    let total = 0;
    let used = 0;
    for (const d of devices) {
      if (d.status === 'dead') continue;
      total += d.mb_total || 0;
      used += d.mb_used || 0;
    }
    const copies = Math.max(1, domains.find((x) => x.name === domain)?.classes.find((c) => c.name === cls)?.mindevcount ?? 1);
    const bytes = (total * MB) / copies;
    const free = (Math.max(0, total - used) * MB) / copies;
    // fuse-native passes 32-bit block counts: pick a block size that keeps them in range.
    let bsize = 4096;
    while (bytes / bsize > 0xffffffff) bsize *= 2;
    const value: StatFs = {
      bsize,
      blocks: Math.floor(bytes / bsize),
      bfree: Math.floor(free / bsize),
      bavail: Math.floor(free / bsize),
      files: 0xffffffff,
      ffree: 0xffffffff,
      namemax: 255,
    };
    this.cached.set(id, { at: Date.now(), value });
    return value;
  }
}
