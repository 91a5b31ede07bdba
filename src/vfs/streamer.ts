/**
 * Streaming a large file to a storage node while it is being written: once a
 * new file written strictly in order passes STREAM_AFTER bytes, its upload
 * starts, reading the spool just behind the writer, so closing a large file
 * waits only for the tail instead of the whole upload. Any write behind the
 * bytes already sent (or a truncate) abandons the stream, and the commit
 * uploads the spool as usual; so does a stream that failed. The spool stays
 * the copy of record either way.
 */
import { Readable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import type { FileAttrs, FileEntry } from '../client';
import type { Keyspace } from './keyspace';

/** Files smaller than this go up in one PUT at close: one round trip, with a known length. */
export const STREAM_AFTER = 8 * 1024 * 1024;
const READ_SIZE = 1024 * 1024;

interface StreamerFile {
  key: string;
  cls: string | undefined;
  readonly spoolFile: FileHandle | null;
}

export class Streamer {
  /** Bytes written in order from 0, so far. */
  private available = 0;
  private sent = 0;
  private done = false;
  private dead = false;
  private body: Readable | null = null;
  private upload: Promise<FileEntry> | null = null;
  private finalAttrs: FileAttrs = {};
  private reading = false;

  private constructor(private readonly keyspace: Keyspace, private readonly file: StreamerFile) {}

  /** A streamer for a file whose first `written` bytes are in its spool file, written in order. */
  static maybe(env: { keyspace: Keyspace }, file: StreamerFile, written: number): Streamer {
    const s = new Streamer(env.keyspace, file);
    s.available = written;
    return s;
  }

  wrote(pos: number, n: number, length: number): void {
    if (this.dead) return;
    if (pos !== this.available || length !== pos + n) {
      this.abort();
      return;
    }
    this.available = length;
    if (!this.upload && this.available >= STREAM_AFTER) this.start();
    this.pump();
  }

  truncated(size: number): void {
    if (size !== this.available) this.abort();
  }

  /** Ends the stream at `length` bytes; resolves to the stored file, or rejects (the caller then uploads the spool). */
  async finish(length: number, attrs: FileAttrs): Promise<FileEntry | null> {
    if (this.dead || !this.upload || length !== this.available) {
      this.abort();
      return null;
    }
    this.finalAttrs = attrs;
    this.done = true;
    this.pump();
    return this.upload;
  }

  abort(): void {
    if (this.dead) return;
    this.dead = true;
    this.body?.destroy(new Error('the file was rewritten out of order; it is uploaded from the spool instead'));
  }

  private start(): void {
    this.body = new Readable({ read: () => this.pump() });
    this.upload = this.keyspace.store(this.file.key, { stream: this.body }, { class: this.file.cls, attrs: () => this.finalAttrs });
    // Failures surface through finish(); until then nobody waits on this promise.
    this.upload.catch(() => { this.dead = true; });
  }

  private pump(): void {
    const body = this.body;
    const fh = this.file.spoolFile;
    if (!body || this.reading || this.dead || body.destroyed || !fh) return;
    if (this.sent >= this.available) {
      if (this.done) body.push(null);
      return;
    }
    this.reading = true;
    const n = Math.min(READ_SIZE, this.available - this.sent);
    const buf = Buffer.allocUnsafe(n);
    fh.read(buf, 0, n, this.sent).then(({ bytesRead }) => {
      this.reading = false;
      if (this.dead || body.destroyed) return;
      this.sent += bytesRead;
      if (body.push(buf.subarray(0, bytesRead))) this.pump();
    }, (err: Error) => {
      this.reading = false;
      body.destroy(err);
    });
  }
}
