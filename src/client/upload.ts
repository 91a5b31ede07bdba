/**
 * The PUT half of storing a file: send the bytes to the first destination
 * create_open gave us, falling back to the next when a destination cannot be
 * written. Bytes are streamed, never gathered: a known size goes out with
 * Content-Length (the storage node checks it), an unknown one chunked.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { MogError } from '../protocol';
import type { Args } from '../protocol';
import { splitUrl, errorBody, describe } from './http';

export interface Destination {
  devid: number;
  path: string;
}

/** Where create_open says to write: `dev_count` + `devid_N`/`path_N` (multi_dest), or the older `devid` + `path`. */
export function parseCreateOpen(reply: Args): { fid: number; dests: Destination[] } {
  const fid = Number(reply.fid);
  const dests: Destination[] = [];
  if (reply.dev_count !== undefined) {
    const n = Number(reply.dev_count);
    for (let i = 1; i <= n; i++) {
      const path = reply[`path_${i}`];
      if (path) dests.push({ devid: Number(reply[`devid_${i}`]), path });
    }
  } else if (reply.path) {
    dests.push({ devid: Number(reply.devid), path: reply.path });
  }
  if (!(fid > 0) || dests.length === 0) {
    throw new MogError('bad_reply', `tracker's create_open reply has no fid or destination: ${JSON.stringify(reply)}`);
  }
  return { fid, dests };
}

/**
 * What to upload. A file can be reopened for each attempt; a caller's stream
 * can be read once, so after its first byte went to one destination there is
 * no falling back to the next.
 */
export type UploadSource =
  | { kind: 'buffer'; buf: Buffer }
  | { kind: 'reopen'; size: number; open(): Readable }
  | { kind: 'stream'; stream: Readable; size?: number };

export interface UploadResult {
  dest: Destination;
  size: number;
  /** Hex MD5 of what was sent, when asked for. */
  md5?: string;
}

export async function uploadToDestinations(
  dispatcher: Dispatcher,
  dests: Destination[],
  source: UploadSource,
  opts: { timeoutMs: number; md5: boolean },
): Promise<UploadResult> {
  const failures: string[] = [];
  // A caller's stream may fail before anyone reads it (while we connect):
  // without a listener that error would crash the process instead of failing the store.
  if (source.kind === 'stream') source.stream.on('error', () => undefined);
  for (const dest of dests) {
    if (source.kind === 'buffer' && source.buf.length <= SLICE) {
      try {
        await putSmall(dispatcher, dest.path, source.buf, opts.timeoutMs);
        return { dest, size: source.buf.length, md5: opts.md5 ? createHash('md5').update(source.buf).digest('hex') : undefined };
      } catch (e) {
        failures.push(`${dest.path} (dev${dest.devid}): ${describe(e)}`);
        continue;
      }
    }
    const abort = new AbortController();
    const attempt = new Attempt(source, opts.md5, opts.timeoutMs, () =>
      abort.abort(new Error(`storage node took no data for ${opts.timeoutMs} ms`)));
    try {
      await putOnce(dispatcher, dest.path, attempt, abort);
      return { dest, size: attempt.bytes, md5: attempt.hash?.digest('hex') };
    } catch (e) {
      failures.push(`${dest.path} (dev${dest.devid}): ${describe(e)}`);
      if (source.kind === 'stream' && (attempt.started || source.stream.errored)) break;
    }
  }
  if (source.kind === 'stream' && source.stream.errored) {
    throw new MogError('upload_failed', `the stream being stored failed, so nothing was stored: ${describe(source.stream.errored)}`);
  }
  throw new MogError('upload_failed', `could not upload to any storage node the tracker offered; ${failures.join('; ')}`);
}

/** Buffers go out in slices of this size, so a stalled node is noticed slice by slice. */
const SLICE = 1024 * 1024;

/** One try at one destination: counts and hashes the bytes as undici pulls them. */
class Attempt {
  bytes = 0;
  started = false;
  readonly hash: Hash | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly stallMs: number;
  private readonly onStall: () => void;

  constructor(private readonly source: UploadSource, md5: boolean, stallMs: number, onStall: () => void) {
    this.hash = md5 ? createHash('md5') : undefined;
    this.stallMs = stallMs;
    this.onStall = onStall;
  }

  get size(): number | undefined {
    const s = this.source;
    return s.kind === 'buffer' ? s.buf.length : s.size;
  }

  /**
   * The request body. The watchdog runs only while undici holds a chunk it
   * has not finished sending (or, after the last, while we wait for the
   * reply): a slow producer upstream is not a stalled storage node.
   */
  async *body(): AsyncGenerator<Buffer> {
    this.started = true;
    const s = this.source;
    if (s.kind === 'buffer') {
      for (let off = 0; off < s.buf.length; off += SLICE) yield* this.send(s.buf.subarray(off, off + SLICE));
    } else {
      const stream = s.kind === 'reopen' ? s.open() : s.stream;
      if (stream.errored) throw stream.errored;
      try {
        for await (const chunk of stream) {
          yield* this.send(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
        }
      } finally {
        if (s.kind === 'reopen') stream.destroy();
      }
    }
    this.arm();
  }

  /** Disarm for good: the request is over, however undici goes on pulling the body generator. */
  finish(): void {
    this.finished = true;
    this.stop();
  }

  stop(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private *send(buf: Buffer): Generator<Buffer> {
    this.bytes += buf.length;
    this.hash?.update(buf);
    this.arm();
    yield buf;
    this.stop();
  }

  private arm(): void {
    this.stop();
    // The last arm() can run after the reply came (undici asks the generator
    // for its end late): a timer set then would keep the process up for stallMs.
    if (this.finished) return;
    this.watchdog = setTimeout(this.onStall, this.stallMs);
  }
}

async function putOnce(dispatcher: Dispatcher, url: string, attempt: Attempt, abort: AbortController): Promise<void> {
  const { origin, path } = splitUrl(url);
  const size = attempt.size;
  const headers: Record<string, string> = {};
  if (size !== undefined) headers['content-length'] = String(size);
  try {
    const res = await dispatcher.request({
      origin,
      path,
      method: 'PUT',
      headers,
      // undici accepts async iterables as bodies; its types only list Readable.
      body: attempt.body() as unknown as Readable,
      signal: abort.signal,
      // Stalls are measured by the Attempt's watchdog: undici's header timer
      // starts at dispatch and would also count a slow producer.
      headersTimeout: 0,
    });
    attempt.finish();
    if (res.statusCode < 200 || res.statusCode > 299) {
      const text = await errorBody(res.body);
      throw new Error(`HTTP ${res.statusCode}${text ? `: ${text}` : ''}`);
    }
    await res.body.dump();
    if (size !== undefined && attempt.bytes !== size) {
      throw new Error(`the source gave ${attempt.bytes} bytes but its size was given as ${size}`);
    }
  } finally {
    attempt.finish();
  }
}

/**
 * A buffer of at most one slice goes out in one write, as a plain body: it is
 * all handed to the socket at once, so undici's own header timeout (from
 * dispatch) measures the storage node alone, and no per-slice watchdog is needed.
 */
async function putSmall(dispatcher: Dispatcher, url: string, buf: Buffer, timeoutMs: number): Promise<void> {
  const { origin, path } = splitUrl(url);
  const res = await dispatcher.request({
    origin,
    path,
    method: 'PUT',
    headers: { 'content-length': String(buf.length) },
    body: buf,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  if (res.statusCode < 200 || res.statusCode > 299) {
    const text = await errorBody(res.body);
    throw new Error(`HTTP ${res.statusCode}${text ? `: ${text}` : ''}`);
  }
  await res.body.dump();
}
