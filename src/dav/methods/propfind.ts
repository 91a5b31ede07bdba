/**
 * PROPFIND: the live properties the mount shows (size, mtime as
 * getlastmodified, ETag, content type, collection or not, locks) and the
 * dead ones from our attribute table, for a resource and, with Depth 1, its
 * members (one listing: the members' stats come with it).
 */
import type { DirEntryStat, Stat } from '../../vfs';
import { inScope } from '../locks';
import type { DavLock } from '../locks';
import { contentTypeOf } from '../../common/http';
import { readProperties, readProperty } from '../props';
import type { DavRequest } from '../request';
import { HttpError } from '../request';
import { etagOf, httpDate, isDirStat } from '../stat';
import { child, emptyElement, esc } from '../xml';
import { lockDiscovery } from './lock';

const LIVE = ['creationdate', 'displayname', 'getcontentlength', 'getcontenttype', 'getetag', 'getlastmodified',
  'resourcetype', 'supportedlock', 'lockdiscovery'] as const;
/** Shown only when asked for by name (RFC 4331: they cost a statfs). */
const QUOTA = ['quota-available-bytes', 'quota-used-bytes'];

type Want = { kind: 'all' } | { kind: 'names' } | { kind: 'some'; props: { ns: string; local: string }[] };

async function wanted(r: DavRequest): Promise<Want> {
  const x = await r.xml();
  if (!x) return { kind: 'all' };
  if (x.ns !== 'DAV:' || x.local !== 'propfind') throw new HttpError(400, 'PROPFIND body must be a DAV:propfind');
  if (child(x, 'DAV:', 'propname')) return { kind: 'names' };
  const prop = child(x, 'DAV:', 'prop');
  if (prop) return { kind: 'some', props: prop.children.map((c) => ({ ns: c.ns, local: c.local })) };
  if (child(x, 'DAV:', 'allprop')) return { kind: 'all' };
  throw new HttpError(400, 'PROPFIND body names no properties');
}

export async function propfind(r: DavRequest): Promise<void> {
  const want = await wanted(r);
  const depth = r.depth(-1);
  if (depth === -1) {
    r.sendXml(403, '<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>');
    return;
  }
  const s = await r.env.vfs.getattr(r.path);
  // The locks of the resource and everything in it, asked once for all the members.
  const asksLocks = want.kind === 'all' || (want.kind === 'some' && want.props.some((p) => p.ns === 'DAV:' && p.local === 'lockdiscovery'));
  const locks = asksLocks ? await r.env.locks.around(r.path) : [];
  const parts = [await describe(r, r.path, s, want, locks)];
  if (depth === 1 && isDirStat(s)) {
    const entries: DirEntryStat[] = await r.env.vfs.readdir(r.path);
    for (const e of entries) {
      const p = r.path === '/' ? `/${e.name}` : `${r.path}/${e.name}`;
      parts.push(await describe(r, p, e.stat, want, locks));
    }
  }
  r.sendXml(207, `<D:multistatus xmlns:D="DAV:">\n${parts.join('\n')}\n</D:multistatus>`);
}

async function live(r: DavRequest, path: string, s: Stat, name: string, locks: DavLock[]): Promise<string | null> {
  const dir = isDirStat(s);
  switch (name) {
    case 'creationdate': return new Date(s.mtime.sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    case 'displayname': return esc(path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1));
    case 'getcontentlength': return dir ? null : String(s.size);
    case 'getcontenttype': return dir ? null : esc(contentTypeOf(path));
    case 'getetag': return esc(etagOf(s));
    case 'getlastmodified': return httpDate(s);
    case 'resourcetype': return dir ? '<D:collection/>' : '';
    case 'supportedlock':
      return '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>'
        + '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';
    case 'lockdiscovery': return lockDiscovery(r, locks.filter((l) => inScope(l, path)));
    case 'quota-available-bytes': {
      const f = await r.env.vfs.statfs();
      return String(f.bavail * f.bsize);
    }
    case 'quota-used-bytes': {
      const f = await r.env.vfs.statfs();
      return String((f.blocks - f.bfree) * f.bsize);
    }
    default: return null;
  }
}

async function describe(r: DavRequest, path: string, s: Stat, want: Want, locks: DavLock[]): Promise<string> {
  const found: string[] = [];
  const missing: string[] = [];
  if (want.kind === 'names') {
    for (const n of LIVE) if (await live(r, path, s, n, locks) !== null) found.push(`<D:${n}/>`);
    for (const d of await readProperties(r.env.vfs, path, true)) found.push(emptyElement(d.ns, d.local));
  } else if (want.kind === 'all') {
    for (const n of LIVE) {
      const v = await live(r, path, s, n, locks);
      if (v !== null) found.push(`<D:${n}>${v}</D:${n}>`);
    }
    for (const d of await readProperties(r.env.vfs, path)) found.push(d.xml);
  } else {
    for (const p of want.props) {
      if (p.ns === 'DAV:' && ((LIVE as readonly string[]).includes(p.local) || QUOTA.includes(p.local))) {
        const v = await live(r, path, s, p.local, locks);
        if (v === null) missing.push(emptyElement(p.ns, p.local));
        else found.push(`<D:${p.local}>${v}</D:${p.local}>`);
        continue;
      }
      const xml = await readProperty(r.env.vfs, path, p.ns, p.local);
      if (xml === null) missing.push(emptyElement(p.ns, p.local));
      else found.push(xml);
    }
  }
  const stat = (props: string[], code: string): string =>
    `<D:propstat><D:prop>${props.join('')}</D:prop><D:status>HTTP/1.1 ${code}</D:status></D:propstat>`;
  return `<D:response><D:href>${esc(r.href(path, isDirStat(s)))}</D:href>`
    + (found.length || !missing.length ? stat(found, '200 OK') : '')
    + (missing.length ? stat(missing, '404 Not Found') : '')
    + '</D:response>';
}
