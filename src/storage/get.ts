/**
 * GET and HEAD of a file on a device, with single Range support. The file is
 * opened once and everything (size, headers, body) comes from that
 * descriptor, so a concurrent rename or delete can't mix two files into one
 * answer. Small bodies (the common case: images, and the tracker's 1-byte
 * size checks) are read with one read() and sent in one write; larger ones
 * stream.
 *
 * This is the node's hottest path, so it uses plain descriptors and fs
 * callbacks (no FileHandle, one promise per thread-pool trip) and sets all
 * headers in one writeHead.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { read, createReadStream, type Stats } from 'node:fs';
import { closeFd, fstatFd } from './fd';
import { pipeline } from 'node:stream/promises';
import { parseDevicePath, openInside, statInside, PathError } from './paths';
import { parseRange } from './range';

/** Bodies up to this size are read into memory in one go rather than streamed. */
const SMALL_BODY = 256 * 1024;

export async function handleGet(docroot: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dp = parseDevicePath(docroot, req.url ?? '/');
  if (req.method === 'HEAD') {
    // No body to read: one stat (one trip to the thread pool) answers it all,
    // where open + fstat + close would take three. Stock trackers check sizes this way.
    const st = await statInside(dp);
    if (st === null) throw new PathError(404, `${dp.uri} not found`);
    await answer(req, res, st, null);
    return;
  }
  const fd = await openInside(dp);
  if (fd === null) throw new PathError(404, `${dp.uri} not found`);
  let handedOver = false;
  try {
    const rest = await answer(req, res, await fstatFd(fd), fd);
    if (rest !== null) {
      // The stream owns the descriptor from here and closes it when done or failed.
      const body = createReadStream('', { fd, start: rest.start, end: rest.end, highWaterMark: 256 * 1024, autoClose: true });
      handedOver = true;
      await pipeline(body, res);
    }
  } finally {
    if (!handedOver) await closeFd(fd);
  }
}

/**
 * Headers, and the body when small, from one stat of the file (`fd` is null
 * for HEAD). Returns the byte range still to stream (headers set, not sent),
 * or null when the answer is complete.
 */
async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  st: Stats,
  fd: number | null,
): Promise<{ start: number; end: number } | null> {
  if (st.isDirectory()) throw new PathError(403, 'directory listing is disabled');
  if (!st.isFile()) throw new PathError(403, 'not a regular file');
  const size = st.size;
  const headers: string[] = [
    'Content-Type', 'application/octet-stream',
    'Accept-Ranges', 'bytes',
    'Last-Modified', httpDate(st.mtimeMs),
    'ETag', `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`,
  ];

  const range = parseRange(req.headers.range, size);
  if (range.kind === 'unsatisfiable') {
    headers.push('Content-Range', `bytes */${size}`, 'Content-Length', '0');
    res.writeHead(416, headers);
    res.end();
    return null;
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range.kind === 'range') {
    start = range.start;
    end = range.end;
    status = 206;
    headers.push('Content-Range', `bytes ${start}-${end}/${size}`);
  }
  const length = size === 0 ? 0 : end - start + 1;
  headers.push('Content-Length', String(length));
  if (fd === null || length === 0) {
    res.writeHead(status, headers);
    res.end();
    return null;
  }
  if (length <= SMALL_BODY) {
    const body = await readExactly(fd, start, length);
    res.writeHead(status, headers);
    res.end(body);
    return null;
  }
  res.statusCode = status;
  for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i], headers[i + 1]);
  return { start, end };
}

/** `length` bytes from `start`; a file that shrank under us is an error, not a short body. */
function readExactly(fd: number, start: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  return new Promise((resolve, reject) => {
    let off = 0;
    const more = (): void => read(fd, buf, off, length - off, start + off, done);
    const done = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err) return reject(err);
      if (n === 0) return reject(new Error(`file ended ${length - off} bytes early while being read`));
      off += n;
      if (off < length) more();
      else resolve(buf);
    };
    more();
  });
}

/**
 * Last-Modified strings: files written in the same second share one, so
 * formatting a Date is rare under load (a tiny cache, reset when full).
 */
const dates = new Map<number, string>();
function httpDate(mtimeMs: number): string {
  const sec = Math.floor(mtimeMs / 1000);
  let s = dates.get(sec);
  if (s === undefined) {
    if (dates.size >= 256) dates.clear();
    s = new Date(sec * 1000).toUTCString();
    dates.set(sec, s);
  }
  return s;
}
