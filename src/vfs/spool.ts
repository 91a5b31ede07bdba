/**
 * The local spool: files being written through the view live here, on local
 * disk, until they are uploaded (never whole files in memory). It counts the
 * bytes it holds against a limit (0 = only the disk's), and keeps a file
 * whose upload failed in `failed/` rather than deleting the only copy.
 */
import { mkdir, open, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from '../common/daemon';
import { fail } from './errors';

/** Small files being written are kept in memory up to this much in all (content.ts). */
export const MEM_TOTAL_MAX = 64 * 1024 * 1024;

export class Spool {
  private seq = 0;
  private used = 0;
  private memory = 0;

  constructor(readonly dir: string, readonly limitBytes: number, readonly memoryLimit = MEM_TOTAL_MAX) {}

  /** Reserves memory for a small file's bytes; false when the budget is spent (the file goes to disk). */
  reserveMemory(n: number): boolean {
    if (this.memory + n > this.memoryLimit) return false;
    this.memory += n;
    return true;
  }

  releaseMemory(n: number): void {
    this.memory = Math.max(0, this.memory - n);
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** Removes the spool directory when nothing is left in it (a failed/ subdirectory keeps it). */
  async close(): Promise<void> {
    await rmdir(this.dir).catch(() => undefined);
  }

  /** A new empty spool file. */
  async create(): Promise<{ path: string; fh: FileHandle }> {
    const p = path.join(this.dir, `${process.pid}-${++this.seq}.spool`);
    const fh = await open(p, 'w+', 0o600);
    return { path: p, fh };
  }

  /** Accounts for a spool file growing (or shrinking, with a negative delta); ENOSPC past the limit. */
  grow(delta: number): void {
    if (delta > 0 && this.limitBytes > 0 && this.used + delta > this.limitBytes) {
      fail('ENOSPC', `the spool (${this.dir}) is at its limit of ${this.limitBytes} bytes; close files being written, or raise --spool-limit`);
    }
    this.used = Math.max(0, this.used + delta);
  }

  get usedBytes(): number {
    return this.used;
  }

  async remove(p: string, size: number): Promise<void> {
    this.grow(-size);
    await rm(p, { force: true });
  }

  /** Keeps a file that could not be uploaded, named after its key; returns where it went. */
  async keepFailed(p: string, size: number, key: string): Promise<string> {
    this.grow(-size);
    const dest = await this.failedPath(key);
    await rename(p, dest);
    return dest;
  }

  /** The same for a small file that was held in memory. */
  async keepFailedBytes(bytes: Buffer, key: string): Promise<string> {
    const dest = await this.failedPath(key);
    await writeFile(dest, bytes, { mode: 0o600 });
    return dest;
  }

  private async failedPath(key: string): Promise<string> {
    const failed = path.join(this.dir, 'failed');
    await mkdir(failed, { recursive: true });
    // <time><sequence>-<key>: unique, in time order, and the key readable.
    return path.join(failed, `${Date.now()}${String(++this.seq % 10000).padStart(4, '0')}-${encodeURIComponent(key).slice(0, 200)}`);
  }
}

/**
 * Removes the default spool directories (`<tmp>/mogfs-spool-<pid>`) of mounts
 * whose process is gone, when nothing is left in them; one holding files
 * (failed/ uploads, or the spool of a killed mount) is kept and reported.
 */
export async function sweepDeadSpools(tmp: string, warn: (dir: string) => void): Promise<void> {
  const names = await readdir(tmp).catch(() => [] as string[]);
  for (const name of names) {
    const m = /^mogfs-spool-(\d+)$/.exec(name);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    const dir = path.join(tmp, name);
    await rmdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOTEMPTY') warn(dir);
    });
  }
}
