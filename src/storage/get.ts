/**
 * GET and HEAD of a file on a device, with single Range support. The file is
 * opened once and everything (size, headers, body) comes from that handle,
 * so a concurrent rename or delete can't mix two files into one answer.
 * Small bodies (the common case: images, and the tracker's 1-byte size
 * checks) are read with one read() and sent in one write; larger ones stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parseDevicePath, openInside, PathError } from './paths';
import { parseRange } from './range';

/** Bodies up to this size are read into memory in one go rather than streamed. */
const SMALL_BODY = 256 * 1024;

export async function handleGet(docroot: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dp = parseDevicePath(docroot, req.url ?? '/');
  const fh = await openInside(dp);
  if (fh === null) throw new PathError(404, `${dp.uri} not found`);
  let handedOver = false;
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new PathError(403, 'directory listing is disabled');
    if (!st.isFile()) throw new PathError(403, 'not a regular file');
    const size = st.size;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Last-Modified', st.mtime.toUTCString());
    res.setHeader('ETag', `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`);

    const range = parseRange(req.headers.range, size);
    if (range.kind === 'unsatisfiable') {
      res.statusCode = 416;
      res.setHeader('Content-Range', `bytes */${size}`);
      res.setHeader('Content-Length', 0);
      res.end();
      return;
    }
    let start = 0;
    let end = size - 1;
    if (range.kind === 'range') {
      start = range.start;
      end = range.end;
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    } else {
      res.statusCode = 200;
    }
    const length = size === 0 ? 0 : end - start + 1;
    res.setHeader('Content-Length', length);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    if (length <= SMALL_BODY) {
      res.end(await readExactly(fh, start, length));
      return;
    }
    // The stream owns the handle from here and closes it when done or failed.
    const body = fh.createReadStream({ start, end, highWaterMark: 256 * 1024 });
    handedOver = true;
    await pipeline(body, res);
  } finally {
    if (!handedOver) await fh.close();
  }
}

/** `length` bytes from `start`; a file that shrank under us is an error, not a short body. */
async function readExactly(fh: FileHandle, start: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let off = 0;
  while (off < length) {
    const { bytesRead } = await fh.read(buf, off, length - off, start + off);
    if (bytesRead === 0) throw new Error(`file ended ${length - off} bytes early while being read`);
    off += bytesRead;
  }
  return buf;
}
