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
import { rename, unlink, stat } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseDevicePath, ensureDirInside, resolveExisting, PathError } from './paths';

/** Temp names start with a dot and end in `.put`, so no fid scan can take one for a `.fid`. */
export const TEMP_PREFIX = '.mogstored-put-';

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
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

export async function handlePut(
  docroot: string,
  req: IncomingMessage,
  res: ServerResponse,
  opts: PutOptions,
): Promise<void> {
  const dp = parseDevicePath(docroot, req.url ?? '/');
  if (dp.segments.length === 0) throw new PathError(400, 'PUT needs a file name below /dev<N>/');
  const length = declaredLength(req);
  const parent = path.dirname(dp.abs);
  await ensureDirInside(dp, parent);
  // The target itself may be an existing symlink: rename replaces the link,
  // never writes through it, but refuse one that points out all the same.
  await resolveExisting(dp);

  const tmp = path.join(parent, `${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}.put`);
  let renamed = false;
  let sink: WriteStream | null = null;
  try {
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
    const existed = await stat(dp.abs).then(
      (s) => {
        if (s.isDirectory()) throw new PathError(409, `${dp.uri} is a directory`);
        return true;
      },
      () => false,
    );
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
