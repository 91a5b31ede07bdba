/**
 * Where a file being written keeps its bytes until they are uploaded: a small
 * file in memory (up to MEM_FILE_MAX each, MEM_TOTAL_MAX for all of them at
 * once, so memory stays bounded), anything larger in a spool file on local
 * disk. Small files are most files (images), and keeping them off the disk
 * saves five file operations per file (create, write, reopen to upload,
 * close, unlink) and their CPU; a file that outgrows memory moves to the
 * spool (spill) and never comes back.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Spool } from './spool';
import { fail } from './errors';

export const MEM_FILE_MAX = 1024 * 1024;

export interface Content {
  readonly size: number;
  write(buf: Buffer, pos: number): Promise<number>;
  read(len: number, pos: number): Promise<Buffer>;
  truncate(size: number): Promise<void>;
  /** What an upload reads. */
  source(): { buffer: Buffer } | { path: string };
  /** Frees the content; with `failedKey`, keeps it in the spool's failed/ instead and says where. */
  close(failedKey: string | null): Promise<string | null>;
}

export class MemContent implements Content {
  private buf = Buffer.alloc(0);
  private len = 0;

  constructor(private readonly spool: Spool) {}

  get size(): number {
    return this.len;
  }

  /** Whether `end` bytes fit in memory (reserving room for them); false: spill to the spool. */
  fits(end: number): boolean {
    if (end <= this.buf.length) return true;
    if (end > MEM_FILE_MAX) return false;
    const cap = Math.min(MEM_FILE_MAX, Math.max(end, this.buf.length * 2, 64 * 1024));
    if (!this.spool.reserveMemory(cap - this.buf.length)) return false;
    const next = Buffer.alloc(cap);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
    return true;
  }

  async write(buf: Buffer, pos: number): Promise<number> {
    if (!this.fits(pos + buf.length)) throw new Error('MemContent.write past what fits: spill first');
    buf.copy(this.buf, pos);
    this.len = Math.max(this.len, pos + buf.length);
    return buf.length;
  }

  async read(len: number, pos: number): Promise<Buffer> {
    return Buffer.from(this.buf.subarray(Math.min(pos, this.len), Math.min(pos + len, this.len)));
  }

  async truncate(size: number): Promise<void> {
    if (size > this.len && !this.fits(size)) throw new Error('MemContent.truncate past what fits: spill first');
    if (size < this.len) this.buf.fill(0, size, this.len);
    this.len = size;
  }

  source(): { buffer: Buffer } {
    return { buffer: this.buf.subarray(0, this.len) };
  }

  /** The bytes so far, to move to the spool. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  async close(failedKey: string | null): Promise<string | null> {
    const kept = failedKey === null ? null : await this.spool.keepFailedBytes(this.bytes(), failedKey);
    this.spool.releaseMemory(this.buf.length);
    this.buf = Buffer.alloc(0);
    this.len = 0;
    return kept;
  }
}

/**
 * What a file streamed straight to a storage node keeps here: its length
 * only, no spool copy. For writers that can send again (a WebDAV PUT: a
 * failed upload is the client's to retry), so a large upload costs no local
 * disk; written in order only, and not readable until stored.
 */
export class StreamedContent implements Content {
  constructor(private len: number) {}

  get size(): number {
    return this.len;
  }

  async write(buf: Buffer, pos: number): Promise<number> {
    if (pos !== this.len) fail('EIO', 'a file streamed to MogileFS is written in order only');
    this.len += buf.length;
    return buf.length;
  }

  async read(): Promise<Buffer> {
    fail('EIO', 'a file being streamed to MogileFS cannot be read until it is stored');
  }

  async truncate(size: number): Promise<void> {
    if (size !== this.len) fail('EIO', 'a file streamed to MogileFS cannot be truncated');
  }

  source(): never {
    fail('EIO', 'the streamed upload failed, and nothing of it was kept here to upload again');
  }

  async close(): Promise<string | null> {
    return null;
  }
}

export class FileContent implements Content {
  private len = 0;

  private constructor(private readonly spool: Spool, private readonly path: string, private readonly file: FileHandle) {}

  static async create(spool: Spool, initial?: Buffer): Promise<FileContent> {
    const s = await spool.create();
    const c = new FileContent(spool, s.path, s.fh);
    if (initial && initial.length > 0) await c.write(initial, 0);
    return c;
  }

  get size(): number {
    return this.len;
  }

  async write(buf: Buffer, pos: number): Promise<number> {
    const end = pos + buf.length;
    if (end > this.len) this.spool.grow(end - this.len);
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.file.write(buf, done, buf.length - done, pos + done);
      done += bytesWritten;
    }
    if (end > this.len) this.len = end;
    return done;
  }

  async read(len: number, pos: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(len, this.len - pos));
    if (n === 0) return Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(n);
    const { bytesRead } = await this.file.read(buf, 0, n, pos);
    return buf.subarray(0, bytesRead);
  }

  async truncate(size: number): Promise<void> {
    if (size === this.len) return;
    this.spool.grow(size - this.len);
    await this.file.truncate(size);
    this.len = size;
  }

  source(): { path: string } {
    return { path: this.path };
  }

  async close(failedKey: string | null): Promise<string | null> {
    await this.file.close().catch(() => undefined);
    if (failedKey !== null) return this.spool.keepFailed(this.path, this.len, failedKey);
    await this.spool.remove(this.path, this.len);
    return null;
  }
}
