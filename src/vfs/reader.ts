/**
 * Reading a stored file through a handle: one HTTP stream from the storage
 * nodes, positioned where the reader is, so a sequential reader gets the
 * whole file from one GET with read-ahead (up to READ_AHEAD bytes buffered)
 * and never the whole file in memory. A read elsewhere (a seek) reopens the
 * stream there with a Range request; the client fails over between replicas,
 * also mid-stream. The replica paths are fixed at the first read, so the
 * handle keeps reading the file it opened even if the key is replaced.
 */
import type { Readable } from 'node:stream';
import type { MogileFS } from '../client';

/** Bytes buffered ahead of the reader before the stream is paused. */
const READ_AHEAD = 8 * 1024 * 1024;
/** A forward jump up to this far reads through instead of reopening. */
const SKIP_THROUGH = 1024 * 1024;

export class Reader {
  private paths: string[] | null = null;
  private stream: Readable | null = null;
  /** File offset of the first buffered byte. */
  private pos = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: MogileFS,
    private readonly getPaths: () => Promise<string[]>,
    private readonly size: number,
  ) {}

  /** Up to `len` bytes from `pos` (fewer only at the end of the file). Reads on one handle run one at a time. */
  read(len: number, pos: number): Promise<Buffer> {
    const run = this.queue.then(() => this.readNow(len, pos));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.stream?.destroy();
    this.stream = null;
    this.chunks = [];
    this.buffered = 0;
  }

  private async readNow(len: number, pos: number): Promise<Buffer> {
    if (pos >= this.size || len <= 0) return Buffer.alloc(0);
    len = Math.min(len, this.size - pos);
    if (!this.stream || pos < this.pos || pos > this.pos + this.buffered + SKIP_THROUGH) await this.open(pos);
    for (;;) {
      if (pos > this.pos) this.take(Math.min(pos - this.pos, this.buffered)); // skipped through
      if (pos === this.pos && (this.buffered >= len || this.ended)) return this.take(Math.min(len, this.buffered));
      if (this.error) {
        const e = this.error;
        this.close();
        throw e;
      }
      if (this.ended) return Buffer.alloc(0); // the stream ended before `pos`: the file is shorter than it said
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  private async open(pos: number): Promise<void> {
    this.close();
    this.paths ??= await this.getPaths();
    this.pos = pos;
    this.ended = false;
    this.error = null;
    const stream = await this.client.getFromPaths(this.paths, { start: pos });
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      if (this.stream !== stream) return;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered >= READ_AHEAD) stream.pause();
      this.notify();
    });
    stream.on('end', () => {
      if (this.stream !== stream) return;
      this.ended = true;
      this.notify();
    });
    stream.on('error', (err) => {
      if (this.stream !== stream) return;
      this.error = err;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private take(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0 && this.chunks.length > 0) {
      const c = this.chunks[0];
      if (c.length <= need) {
        parts.push(c);
        this.chunks.shift();
        need -= c.length;
      } else {
        parts.push(c.subarray(0, need));
        this.chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    const got = n - need;
    this.buffered -= got;
    this.pos += got;
    if (this.stream?.isPaused() && this.buffered < READ_AHEAD / 2) this.stream.resume();
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, got);
  }
}
