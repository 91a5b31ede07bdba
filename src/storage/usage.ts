/**
 * The `dev<N>/usage` files the tracker's monitor GETs to learn each device's
 * size and free space. Same format as the original's DiskUsage child
 * (`key: value` lines, keys sorted, sizes in KiB as `df -k` reports them),
 * written to a temp file and renamed so a reader never sees half a file.
 */
import { readdir, stat, statfs, writeFile, rename, unlink, readFile, realpath } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../common/log';

export interface DeviceUsage {
  available: number;
  device: string;
  disk: string;
  time: number;
  total: number;
  use: string;
  used: number;
}

/** The devids present in the docroot (`dev<N>` directories or symlinks to them). */
export async function listDevices(docroot: string): Promise<number[]> {
  const names = await readdir(docroot);
  const devids: number[] = [];
  for (const name of names) {
    const m = /^dev(\d+)$/.exec(name);
    if (!m) continue;
    const isDir = await stat(path.join(docroot, name)).then((s) => s.isDirectory(), () => false);
    if (isDir) devids.push(Number(m[1]));
  }
  return devids.sort((a, b) => a - b);
}

interface Mount {
  source: string;
  target: string;
}

/** /proc/self/mounts, so `device` names the filesystem like df does (Linux only; empty elsewhere). */
async function readMounts(): Promise<Mount[]> {
  try {
    const text = await readFile('/proc/self/mounts', 'utf8');
    // Mount fields escape spaces and such as octal (\040).
    const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    return text
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length >= 2)
      .map((f) => ({ source: unescape(f[0]), target: unescape(f[1]) }));
  } catch {
    return [];
  }
}

function mountOf(mounts: Mount[], real: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const t = m.target;
    const inside = real === t || real.startsWith(t.endsWith('/') ? t : t + '/');
    if (inside && (!best || t.length >= best.target.length)) best = m;
  }
  return best;
}

export async function measureDevice(docroot: string, devid: number, mounts: Mount[]): Promise<DeviceUsage> {
  const devDir = path.join(docroot, `dev${devid}`);
  const fs = await statfs(devDir);
  const kib = (blocks: number): number => Math.floor((blocks * fs.bsize) / 1024);
  const total = kib(fs.blocks);
  const used = kib(fs.blocks - fs.bfree);
  const available = kib(fs.bavail);
  // df's Use%: used over what non-root users could have, rounded up.
  const denom = used + available;
  const pct = denom > 0 ? Math.ceil((used * 100) / denom) : 0;
  const real = await realpath(devDir).catch(() => devDir);
  const mount = mountOf(mounts, real);
  // The original reports the mount point when the device dir is one, else the path.
  const disk = mount && mount.target === real ? real : devDir;
  return { available, device: mount?.source ?? devDir, disk, time: Math.floor(Date.now() / 1000), total, use: `${pct}%`, used };
}

export function formatUsage(u: DeviceUsage): string {
  const keys = Object.keys(u).sort() as (keyof DeviceUsage)[];
  return keys.map((k) => `${k}: ${u[k]}\n`).join('');
}

/** Write every device's usage file once. Errors on one device don't stop the others. */
export async function writeUsageFiles(docroot: string, log: Logger): Promise<void> {
  const devids = await listDevices(docroot);
  const mounts = await readMounts();
  await Promise.all(
    devids.map(async (devid) => {
      const file = path.join(docroot, `dev${devid}`, 'usage');
      const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
      try {
        const u = await measureDevice(docroot, devid, mounts);
        await writeFile(tmp, formatUsage(u), { mode: 0o644 });
        await rename(tmp, file);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        log.warn({ err, devid }, 'could not write usage file');
      }
    }),
  );
}

/** Rewrites the usage files every `intervalMs` until stopped. */
export class UsageWriter {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly docroot: string,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Writes once now (so the tracker finds them immediately), then on the interval. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tick(): Promise<void> {
    // Never overlap runs on a slow disk.
    if (this.running) return this.running;
    this.running = writeUsageFiles(this.docroot, this.log)
      .catch((err: unknown) => this.log.warn({ err }, 'usage scan failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
