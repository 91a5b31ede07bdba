/**
 * The local spool: files being written through the view live here, on local
 * disk, until they are uploaded (never whole files in memory). It counts the
 * bytes it holds against a limit (0 = only the disk's), and keeps a file
 * whose upload failed in `failed/` rather than deleting the only copy.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fail } from './errors';

export class Spool {
  private seq = 0;
  private used = 0;

  constructor(readonly dir: string, readonly limitBytes: number) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
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
    const failed = path.join(this.dir, 'failed');
    await mkdir(failed, { recursive: true });
    const dest = path.join(failed, `${Date.now()}-${encodeURIComponent(key).slice(0, 200)}`);
    await rename(p, dest);
    return dest;
  }
}
