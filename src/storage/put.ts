/**
 * PUT. A body checked against Content-Length before anything is kept; a
 * short or aborted upload is an error and leaves nothing behind.
 * - A small body (≤ SMALL_BODY, the usual image or thumbnail) is gathered in
 *   memory first. If the target does not exist it is created with O_EXCL and
 *   written with one write (optionally fsynced): three trips to the thread
 *   pool instead of five. Nothing reads a fid's path before the upload has
 *   answered (the tracker hands it out only after create_close), Perlbal
 *   wrote in place too, and a write that fails removes the file it created.
 * - Otherwise (a larger body, or a target that exists) the body goes into a
 *   temporary file beside the target, optionally fsynced, then renamed into
 *   place, so a reader of an existing file sees the old one or the whole new
 *   one, never a partial upload.
 * Missing parent directories are created (as the original Perlbal backend
 * did), so MKCOL first is allowed but not required.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createWriteStream, type WriteStream } from 'node:fs';
import { write as writeCb, fsync as fsyncCb, constants } from 'node:fs';
import { openFd, closeFd, fstatFd } from './fd';
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
  const small = length !== null && length <= SMALL_BODY ? await gatherBody(req, length) : null;
  if (small && (await createNew(dp.abs, small, opts.fsync))) {
    answer(res, false);
    return;
  }
  const existed = await checkTarget(dp);

  const tmp = path.join(path.dirname(dp.abs), tempName());
  let renamed = false;
  let sink: WriteStream | null = null;
  try {
    if (small) {
      await writeWhole(tmp, small, opts.fsync);
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
    answer(res, existed);
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

function answer(res: ServerResponse, replaced: boolean): void {
  res.statusCode = replaced ? 204 : 201;
  res.setHeader('Content-Length', 0);
  res.end();
}

/** A body of known, small length, whole; an error when it is cut short or runs over. */
async function gatherBody(req: IncomingMessage, length: number): Promise<Buffer> {
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
  return buf;
}

/** All of `buf` to `fd`, then fsync when asked. */
async function writeAll(fd: number, buf: Buffer, fsync: boolean): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    off += await new Promise<number>((resolve, reject) =>
      writeCb(fd, buf, off, buf.length - off, null, (err, n) => (err ? reject(err) : resolve(n))),
    );
  }
  if (fsync) await new Promise<void>((resolve, reject) => fsyncCb(fd, (err) => (err ? reject(err) : resolve())));
}

/** A new file `p` (refused if anything is there) holding `buf`: the temp file's write. */
async function writeWhole(p: string, buf: Buffer, fsync: boolean): Promise<void> {
  const fd = await openFd(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
  try {
    await writeAll(fd, buf, fsync);
  } finally {
    await closeFd(fd);
  }
}

/**
 * Creates `target` holding `buf` when nothing is there (O_EXCL: an existing
 * file, directory or symlink, dangling or not, is never opened): true when
 * done, false when something exists and the upload must go the replacing
 * way. A failed write removes the file this call created, and only that
 * file (a concurrent replace may have put another in its place); so does a
 * failed close.
 */
async function createNew(target: string, buf: Buffer, fsync: boolean): Promise<boolean> {
  let fd: number;
  try {
    fd = await openFd(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    await writeAll(fd, buf, fsync);
  } catch (e) {
    const mine = await fstatFd(fd).catch(() => null);
    await closeFd(fd).catch(() => undefined);
    const now = mine && (await lstat(target).catch(() => null));
    if (now && now.ino === mine.ino && now.dev === mine.dev) await unlink(target).catch(() => undefined);
    throw e;
  }
  try {
    await closeFd(fd);
  } catch (e) {
    // A close that fails (EIO, a quota on a network filesystem) may have lost data.
    await unlink(target).catch(() => undefined);
    throw e;
  }
  return true;
}
