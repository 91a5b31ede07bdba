/**
 * PUT: the body streams into a temporary file beside the target, is checked
 * against Content-Length, optionally fsynced, then renamed into place. So a
 * reader sees the old file or the whole new one, never a partial upload; a
 * short or aborted upload is an error and its temporary file is removed.
 * Missing parent directories are created (as the original Perlbal backend
 * did), so MKCOL first is allowed but not required.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open as openCb, write as writeCb, close as closeCb, fsync as fsyncCb } from 'node:fs';
import { rename, unlink, lstat } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseDevicePath, ensureParentInside, refuseUsageWrite, resolveExisting, PathError, type DevicePath } from './paths';

/** Temp names start with a dot and end in `.put`, so no fid scan can take one for a `.fid`. */
export const TEMP_PREFIX = '.mogstored-put-';

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** `.mogstored-put-<pid>-<12 hex>-<seq>.put`: the writer's pid, or null for a name that is not ours. */
export function parseTempName(name: string): { pid: number } | null {
  const m = /^\.mogstored-put-(\d{1,10})-[0-9a-f]{12}-[0-9a-z]{1,12}\.put$/.exec(name);
  return m ? { pid: Number(m[1]) } : null;
}

/** A temp file this process is (or was) writing. */
export function isOwnTempName(name: string): boolean {
  return name.startsWith(TEMP_STEM);
}

export interface PutOptions {
  /** fsync the file before the rename (durability over speed). */
  fsync: boolean;
}

/** Counts the bytes flowing through and refuses more than the declared length. */
class ByteCounter extends Transform {
  bytes = 0;
  constructor(private readonly limit: number | null) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.limit !== null && this.bytes > this.limit) {
      cb(new PathError(400, `body is longer than Content-Length ${this.limit}`));
      return;
    }
    cb(null, chunk);
  }
}

function declaredLength(req: IncomingMessage): number | null {
  const raw = req.headers['content-length'];
  if (raw === undefined) return null;
  if (!/^\d+$/.test(raw)) throw new PathError(400, 'Content-Length is not a number');
  return Number(raw);
}

/**
 * Bodies of a declared length up to this (a typical image thumbnail) are
 * gathered in memory and written with one write; larger ones stream through
 * a temp file that is visible while they arrive.
 */
const SMALL_BODY = 64 * 1024;

export async function handlePut(
  docroot: string,
  req: IncomingMessage,
  res: ServerResponse,
  opts: PutOptions,
): Promise<void> {
  const dp = parseDevicePath(docroot, req.url ?? '/');
  if (dp.segments.length === 0) throw new PathError(400, 'PUT needs a file name below /dev<N>/');
  refuseUsageWrite(dp, 'PUT');
  const length = declaredLength(req);
  await ensureParentInside(dp);
  const existed = await checkTarget(dp);

  const tmp = path.join(path.dirname(dp.abs), tempName());
  let renamed = false;
  let sink: WriteStream | null = null;
  try {
    if (length !== null && length <= SMALL_BODY) {
      await writeSmall(req, tmp, length, opts);
    } else {
      const counter = new ByteCounter(length);
      // `flush` fsyncs before the close the pipeline waits for.
      sink = createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: opts.fsync, highWaterMark: 256 * 1024 });
      await pipeline(req, counter, sink);
      // A client that closed early ends the body without error on some paths;
      // the count is the one check that always holds.
      if (!req.complete) throw new PathError(400, 'upload was aborted before the body ended');
      if (length !== null && counter.bytes !== length) {
        throw new PathError(400, `body has ${counter.bytes} bytes but Content-Length said ${length}`);
      }
    }
    // Renaming onto a directory fails with EISDIR, answered as 409.
    await rename(tmp, dp.abs);
    renamed = true;
    res.statusCode = existed ? 204 : 201;
    res.setHeader('Content-Length', 0);
    res.end();
  } finally {
    if (!renamed) {
      // A stream destroyed while still opening creates the file afterwards:
      // wait for its close so the unlink really is the last word.
      const s = sink;
      if (s && !s.closed) await new Promise<void>((resolve) => s.once('close', () => resolve()));
      await unlink(tmp).catch(() => undefined);
    }
  }
}

/**
 * Unique temp names without asking the kernel for randomness per upload:
 * a random prefix drawn once per process, then a counter ('wx' still
 * refuses a clash with a file some other process left behind).
 */
const TEMP_STEM = `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}-`;
let tempSeq = 0;
function tempName(): string {
  tempSeq = (tempSeq + 1) % Number.MAX_SAFE_INTEGER;
  return `${TEMP_STEM}${tempSeq.toString(36)}.put`;
}

/**
 * Whether the target exists already. It may be a symlink: rename replaces
 * the link, never writes through it, but one pointing out of the device is
 * refused all the same. A directory there is a conflict.
 */
async function checkTarget(dp: DevicePath): Promise<boolean> {
  let st;
  try {
    st = await lstat(dp.abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (st.isSymbolicLink()) await resolveExisting(dp);
  else if (st.isDirectory()) throw new PathError(409, `${dp.uri} is a directory`);
  return true;
}

/** Gather a body of known, small length and write it with one call (plus fsync when asked). */
async function writeSmall(req: IncomingMessage, tmp: string, length: number, opts: PutOptions): Promise<void> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    if (got + b.length > length) throw new PathError(400, `body is longer than Content-Length ${length}`);
    b.copy(buf, got);
    got += b.length;
  }
  if (!req.complete) throw new PathError(400, 'upload was aborted before the body ended');
  if (got !== length) throw new PathError(400, `body has ${got} bytes but Content-Length said ${length}`);
  // Plain descriptors rather than a FileHandle: three trips to the thread
  // pool and no handle object to track and close through promises.
  const fd = await new Promise<number>((resolve, reject) =>
    openCb(tmp, 'wx', 0o644, (err, f) => (err ? reject(err) : resolve(f))),
  );
  try {
    let off = 0;
    while (off < length) {
      off += await new Promise<number>((resolve, reject) =>
        writeCb(fd, buf, off, length - off, null, (err, n) => (err ? reject(err) : resolve(n))),
      );
    }
    if (opts.fsync) await new Promise<void>((resolve, reject) => fsyncCb(fd, (err) => (err ? reject(err) : resolve())));
  } finally {
    await new Promise<void>((resolve, reject) => closeCb(fd, (err) => (err ? reject(err) : resolve())));
  }
}
