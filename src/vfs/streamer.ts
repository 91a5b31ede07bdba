/**
 * Streaming a large file to a storage node while it is being written: once a
 * new file written strictly in order outgrows memory (content.ts), its
 * upload starts, and every further write is passed on to it as well as to
 * the spool, so closing a large file waits only for the tail and the bytes
 * are never read back from disk. A writer faster than the upload waits for
 * it (at most STREAM_BUFFER bytes in flight). A write behind the bytes
 * already sent (or a truncate) abandons the stream, and the commit uploads
 * the spool as usual; so does a stream that failed. The spool stays the copy
 * of record either way.
 */
import { Readable } from 'node:stream';
import type { FileAttrs, FileEntry } from '../client';
import type { Keyspace } from './keyspace';

/** Bytes passed on and not yet taken by the upload, before writers wait. */
const STREAM_BUFFER = 8 * 1024 * 1024;

interface StreamerFile {
  key: string;
  cls: string | undefined;
}

export class Streamer {
  /** Bytes written in order from 0, so far (all passed to the body). */
  private available = 0;
  private dead = false;
  private readonly body: Readable;
  private readonly upload: Promise<FileEntry>;
  private finalAttrs: FileAttrs = {};
  private waiting: Array<() => void> = [];

  /** Starts the upload of `file` with the `first` bytes it holds (written in order). */
  constructor(keyspace: Keyspace, file: StreamerFile, first: Buffer) {
    this.body = new Readable({ highWaterMark: STREAM_BUFFER, read: () => this.wakeWriters() });
    this.upload = keyspace.store(file.key, { stream: this.body }, { class: file.cls, attrs: () => this.finalAttrs });
    // Failures surface through finish(); until then nobody waits on this promise.
    this.upload.catch(() => this.abort());
    this.available = first.length;
    if (first.length > 0) this.body.push(Buffer.from(first));
  }

  /**
   * `data` was written at `pos` and the file is now `length` bytes: passed on
   * when it continues the stream, else the stream is given up. Resolves when
   * the writer may go on (the upload has room for more).
   */
  wrote(pos: number, data: Buffer, length: number): Promise<void> {
    if (this.dead) return Promise.resolve();
    if (pos !== this.available || length !== pos + data.length) {
      this.abort();
      return Promise.resolve();
    }
    this.available = length;
    // A copy: the caller's buffer (FUSE's memory) is gone once the write is answered.
    if (this.body.push(Buffer.from(data))) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  truncated(size: number): void {
    if (size !== this.available) this.abort();
  }

  /** Ends the stream at `length` bytes; resolves to the stored file, null when the stream was given up, or rejects. */
  async finish(length: number, attrs: FileAttrs): Promise<FileEntry | null> {
    if (this.dead || length !== this.available) {
      this.abort();
      return null;
    }
    this.finalAttrs = attrs;
    this.body.push(null);
    return this.upload;
  }

  abort(): void {
    if (this.dead) return;
    this.dead = true;
    this.body.destroy(new Error('the file was rewritten out of order; it is uploaded from the spool instead'));
    this.wakeWriters();
  }

  private wakeWriters(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const resolve of w) resolve();
  }
}
