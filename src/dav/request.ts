/**
 * One WebDAV request as our methods see it: the Vfs path it names, who asks,
 * the lock tokens it submits, and helpers to answer. Paths are the URL's,
 * percent-decoded, below the server's mount path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { urlSegments } from '../common/http';
import type { Logger } from '../common/log';
import { errnoOf } from '../vfs';
import type { Vfs } from '../vfs';
import { isDirStat } from './stat';
import type { LockStore } from './locks';
import { MAX_XML_BODY, parseXml, XmlError } from './xml';
import type { XNode } from './xml';

export interface DavEnv {
  vfs: Vfs;
  locks: LockStore;
  log: Logger;
  /** Longest lock timeout granted, seconds. */
  maxLockSec: number;
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class DavRequest {
  readonly path: string;
  readonly tokens: Set<string>;

  constructor(readonly env: DavEnv, readonly req: IncomingMessage, readonly res: ServerResponse, readonly user: string) {
    this.path = urlPath(req.url ?? '/');
    this.tokens = submittedTokens(this.header('if'));
  }

  header(name: string): string {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v ?? '';
  }

  /** Depth: 0, 1 or -1 (infinity); `dflt` when absent. */
  depth(dflt: number): number {
    const d = this.header('depth').trim().toLowerCase();
    if (d === '') return dflt;
    if (d === '0') return 0;
    if (d === '1') return 1;
    if (d === 'infinity') return -1;
    throw new HttpError(400, `bad Depth header: ${d}`);
  }

  /** The Destination header as a Vfs path (COPY, MOVE); another server's URL is refused. */
  destination(): string {
    const d = this.header('destination');
    if (!d) throw new HttpError(400, 'COPY and MOVE need a Destination header');
    let u: URL;
    try {
      u = new URL(d, `http://${this.header('host') || 'localhost'}`);
    } catch {
      throw new HttpError(400, `bad Destination: ${d}`);
    }
    const host = this.header('host');
    if (host && u.host !== host) throw new HttpError(502, `Destination ${d} is on another server`);
    return urlPath(u.pathname);
  }

  overwrite(): boolean {
    const o = this.header('overwrite').trim().toUpperCase();
    if (o === '' || o === 'T') return true;
    if (o === 'F') return false;
    throw new HttpError(400, `bad Overwrite header: ${o}`);
  }

  /** Resolves when `path`'s parent is a collection; else 409 (RFC 4918 §9.3.1, §9.7.1). */
  async needParent(path: string): Promise<void> {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    const s = await this.env.vfs.getattr(parent).catch((e: unknown) => {
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return null;
      throw e;
    });
    if (!s || !isDirStat(s)) throw new HttpError(409, `the parent of ${path} is not a collection`);
  }

  /** The request body (bounded), for methods whose body is XML. */
  async body(limit = MAX_XML_BODY): Promise<Buffer> {
    const declared = Number(this.header('content-length') || 0);
    if (declared > limit) throw new HttpError(413, `request bodies of this method hold at most ${limit} bytes`);
    const parts: Buffer[] = [];
    let n = 0;
    for await (const chunk of this.req) {
      n += (chunk as Buffer).length;
      if (n > limit) throw new HttpError(413, `request bodies of this method hold at most ${limit} bytes`);
      parts.push(chunk as Buffer);
    }
    return Buffer.concat(parts);
  }

  /** The XML body, or null when there is none. */
  async xml(): Promise<XNode | null> {
    const b = await this.body();
    if (b.length === 0) return null;
    try {
      return parseXml(b.toString('utf8'));
    } catch (e) {
      if (e instanceof XmlError) throw new HttpError(400, e.message);
      throw e;
    }
  }

  /** Reads and drops a body nobody needs, so the connection stays usable. */
  async drain(): Promise<void> {
    if (this.req.readableEnded) return;
    for await (const _ of this.req) { /* discard */ }
  }

  /** An href for `path` (each segment percent-encoded, `#` and `?` too), collections ending in '/'. */
  href(path: string, isDir: boolean): string {
    const enc = path.split('/').map((s) => encodeURIComponent(s)).join('/');
    return isDir && !enc.endsWith('/') ? `${enc}/` : enc;
  }

  send(status: number, body?: string, type = 'text/plain; charset=utf-8'): void {
    if (this.res.headersSent) {
      this.res.end();
      return;
    }
    if (body === undefined) {
      this.res.writeHead(status, { 'Content-Length': 0 });
      this.res.end();
      return;
    }
    const buf = Buffer.from(body);
    this.res.writeHead(status, { 'Content-Type': type, 'Content-Length': buf.length });
    this.res.end(this.req.method === 'HEAD' ? undefined : buf);
  }

  sendXml(status: number, xml: string): void {
    this.send(status, `<?xml version="1.0" encoding="utf-8"?>\n${xml}`, 'application/xml; charset=utf-8');
  }
}

/** The Vfs path of a URL path: percent-decoded, no query, no '.' or '..' segments, no trailing '/'. */
export function urlPath(url: string): string {
  const raw = url.split('?')[0];
  // A fragment is the client's business; one sent anyway is refused rather than cut off (litmus delete_fragment).
  if (raw.includes('#')) throw new HttpError(400, `a request URI cannot hold a fragment: ${url}`);
  const segs = urlSegments(raw);
  if (!segs) throw new HttpError(400, `${url}: bad percent-encoding, or a '.', '..' or encoded '/' segment`);
  return `/${segs.join('/')}`;
}

/** Every lock token named in an If header: a token that appears there is submitted (RFC 4918 §10.4). */
export function submittedTokens(ifHeader: string): Set<string> {
  const out = new Set<string>();
  const re = /<((?:opaquelocktoken|urn:uuid):[^>]+)>/gi;
  for (let m = re.exec(ifHeader); m; m = re.exec(ifHeader)) out.add(m[1]);
  return out;
}
