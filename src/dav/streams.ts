/**
 * Streams over Vfs handles: a read stream over a byte range (a ranged GET
 * reads only its range from the storage node), and a write stream whose
 * end commits the upload, so its errors reach the PUT that wrote it, and
 * whose destruction before the end drops what was written.
 */
import { Readable, Writable } from 'node:stream';
import type { Vfs } from '../vfs';

/** Bytes asked of the Vfs per read: the reader streams ahead of this anyway. */
const CHUNK = 256 * 1024;

export class VfsReadStream extends Readable {
  private pos: number;
  private released = false;

  private constructor(private readonly vfs: Vfs, private readonly fh: number, start: number, private readonly end: number) {
    super({ highWaterMark: CHUNK });
    this.pos = start;
  }

  /** Bytes [start, end) of an open read handle, which the stream releases when it ends. */
  static over(vfs: Vfs, fh: number, start: number, end: number): VfsReadStream {
    return new VfsReadStream(vfs, fh, start, end);
  }

  override _read(): void {
    const want = Math.min(CHUNK, this.end - this.pos);
    if (want <= 0) {
      this.push(null);
      return;
    }
    this.vfs.read(this.fh, want, this.pos).then((buf) => {
      if (buf.length === 0) {
        this.push(null);
        return;
      }
      this.pos += buf.length;
      this.push(buf);
    }, (e: unknown) => this.destroy(e as Error));
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.release().then(() => cb(err), () => cb(err));
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.vfs.release(this.fh);
  }
}

export class VfsWriteStream extends Writable {
  private pos = 0;
  private finished = false;

  private constructor(private readonly vfs: Vfs, private readonly fh: number) {
    super({ highWaterMark: CHUNK });
  }

  /** A new content for `path` (created, or truncated when it exists): nothing changes until the stream ends. */
  static async open(vfs: Vfs, path: string): Promise<VfsWriteStream> {
    // A PUT's client sends again if it fails: past memory, the body streams with no spool copy.
    const fh = await vfs.create(path, 0o644, { streamOnly: true });
    try {
      await vfs.ftruncate(fh, 0);
    } catch (e) {
      await vfs.discard(fh);
      throw e;
    }
    return new VfsWriteStream(vfs, fh);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.vfs.write(this.fh, chunk, this.pos).then((n) => {
      this.pos += n;
      cb();
    }, (e: unknown) => cb(e as Error));
  }

  override _final(cb: (e?: Error | null) => void): void {
    const commit = async (): Promise<void> => {
      try {
        await this.vfs.flush(this.fh);
      } catch (e) {
        this.finished = true;
        await this.vfs.discard(this.fh).catch(() => undefined);
        throw e;
      }
      this.finished = true;
      await this.vfs.release(this.fh);
    };
    commit().then(() => cb(), (e: unknown) => cb(e as Error));
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.finished) return cb(err);
    this.finished = true;
    this.vfs.discard(this.fh).then(() => cb(err), () => cb(err));
  }
}
