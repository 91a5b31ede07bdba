/**
 * GET and HEAD of one file: headers from the tracker's answer (type from the
 * name's extension, ETag and Last-Modified as the mount and WebDAV show
 * them, the configured Cache-Control), conditional requests and ranges
 * decided before any storage node is asked, then the bytes streamed from the
 * first replica that answers, or, in nginx mode, an X-Accel-Redirect that
 * lets nginx move them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contentTypeOf } from '../common/http';
import type { Located, Locator } from '../vfs';
import { decideRange, evaluatePreconditions, httpDateOf } from './conditional';
import type { Range, Validators } from './conditional';
import type { BodyCache } from './bodycache';
import { DeadNodes, originOf } from './nodes';

export interface ServeOptions {
  cacheControl?: string;
  /** nginx mode: the internal location X-Accel-Redirect points into, e.g. '/_mogfs_internal'. */
  xAccel?: string;
  deadNodes: DeadNodes;
  bodies: BodyCache;
  /** Told of a replica that failed (recent errors); the request goes on with the next. */
  onReplicaFailure(url: string, err: unknown): void;
}


function validators(f: Located): Validators {
  return { etag: f.etag, lastModified: f.mtime === null ? null : f.mtime.sec };
}

/** Headers every answer about the file carries (200, 206, 304). */
function entityHeaders(res: ServerResponse, f: Located, o: ServeOptions): void {
  res.setHeader('ETag', f.etag);
  if (f.mtime !== null) res.setHeader('Last-Modified', httpDateOf(f.mtime.sec));
  if (o.cacheControl) res.setHeader('Cache-Control', o.cacheControl);
}

/** A symlink made through the mount: a relative target becomes a redirect, which browsers resolve as the mount does. */
function serveSymlink(res: ServerResponse, target: string): void {
  if (target === '' || target.startsWith('/')) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('symbolic link to an absolute path\n');
    return;
  }
  const location = target.split('/').map((s) => encodeURIComponent(s)).join('/');
  res.writeHead(302, { Location: location, 'Content-Length': '0' }).end();
}

export async function serveFile(req: IncomingMessage, res: ServerResponse, f: Located, locator: Locator, o: ServeOptions): Promise<void> {
  if (f.symlink !== undefined) return serveSymlink(res, f.symlink);
  const method = req.method ?? 'GET';
  const v = validators(f);
  const pre = evaluatePreconditions(req.headers, v, method);
  if (pre === 'failed') {
    res.writeHead(412, { 'Content-Length': '0', ETag: f.etag }).end();
    return;
  }
  entityHeaders(res, f, o);
  if (pre === 'not-modified') {
    res.writeHead(304).end();
    return;
  }
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', contentTypeOf(f.key));
  const range = method === 'GET' ? decideRange(req.headers, v, f.length) : null;
  if (range === 'unsatisfiable') {
    res.removeHeader('Content-Type');
    res.writeHead(416, { 'Content-Range': `bytes */${f.length}`, 'Content-Length': '0' }).end();
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? f.length - 1;
  const status = range ? 206 : 200;
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${f.length}`);
  if (method === 'HEAD' || f.length === 0) {
    // Everything a HEAD needs came from the tracker; an empty file has no bytes to fetch.
    res.writeHead(status, { 'Content-Length': String(end - start + 1) }).end();
    return;
  }
  if (f.paths.length === 0) {
    sendError(res, 503, `no readable copy of ${f.key} right now (its devices are down or dead)`);
    return;
  }
  if (o.xAccel) return accelRedirect(res, o.xAccel, o.deadNodes.order(f.paths), range);
  const cached = o.bodies.wants(f.length) ? o.bodies.get(f.fid) : undefined;
  if (cached) {
    res.writeHead(status, { 'Content-Length': String(end - start + 1) });
    res.end(range ? cached.subarray(start, end + 1) : cached);
    return;
  }
  await streamBody(res, status, f, start, end, range, locator, o);
}

async function streamBody(
  res: ServerResponse, status: number, f: Located, start: number, end: number, range: Range | null, locator: Locator, o: ServeOptions,
): Promise<void> {
  const paths = o.deadNodes.order(f.paths);
  const failed = (url: string, err: unknown): void => {
    // A node that refused or broke off is dead for a while; one that answered 404 only lacks this copy.
    if (!(err instanceof Error && err.message.startsWith('HTTP '))) o.deadNodes.markDead(originOf(url));
    o.onReplicaFailure(url, err);
  };
  let body;
  try {
    body = await locator.read(paths, range ?? undefined, failed);
  } catch (e) {
    sendError(res, 502, `no replica could be read: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  res.writeHead(status, { 'Content-Length': String(end - start + 1) });
  // A whole small file is kept as it passes (by fid: its bytes never change).
  const keep = range === null && o.bodies.wants(f.length) ? [] as Buffer[] : null;
  let got = 0;
  await new Promise<void>((resolve) => {
    body.on('data', (chunk: Buffer) => {
      if (keep) {
        keep.push(chunk);
        got += chunk.length;
      }
      if (!res.write(chunk)) body.pause();
    });
    res.on('drain', () => body.resume());
    body.once('end', () => {
      if (keep && got === f.length) o.bodies.set(f.fid, Buffer.concat(keep, got));
      res.end();
      resolve();
    });
    // A failure after the headers can only cut the response short; the client sees the length fall short.
    body.once('error', () => {
      res.destroy();
      resolve();
    });
    res.once('close', () => {
      if (!res.writableFinished) body.destroy();
      resolve();
    });
  });
}

/**
 * nginx mode: nginx fetches `<internal>/<host:port><dev path>` from the
 * storage node itself. The range the gateway decided travels as a header
 * the example config turns back into the Range nginx sends, and the next
 * replica (`host:port/path`) as one its error_page retries, so nginx fails
 * over once; replicas on nodes this gateway saw fail come last.
 */
function accelRedirect(res: ServerResponse, internal: string, paths: string[], range: Range | null): void {
  const hostPath = (url: string): string => url.replace(/^http:\/\//, '');
  res.setHeader('X-Accel-Redirect', `${internal}/${hostPath(paths[0])}`);
  // With one replica the retry goes to the same node: nginx needs a URL either way.
  res.setHeader('X-Mogfs-Next', hostPath(paths[1] ?? paths[0]));
  if (range) res.setHeader('X-Mogfs-Range', `bytes=${range.start}-${range.end}`);
  res.removeHeader('Content-Range');
  res.writeHead(200, { 'Content-Length': '0' }).end();
}

export function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Headers set for a file that could not be sent (ETag, ranges...) do not describe an error.
  for (const h of res.getHeaderNames()) res.removeHeader(h);
  const body = `${message}\n`;
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}
