/**
 * Preconditions: the WebDAV If header (RFC 4918 §10.4: lists of lock tokens
 * and ETags, optionally tagged with a resource, any list true is enough) and
 * HTTP's If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since.
 * webdav-server's If parser passed every non-empty list, so this is ours.
 */
import { errnoOf } from '../vfs';
import type { Stat } from '../vfs';
import type { DavRequest } from './request';
import { HttpError, urlPath } from './request';
import { etagOf, mtimeMs } from './stat';

interface Condition { not: boolean; token?: string; etag?: string }
interface List { resource: string | null; conditions: Condition[] }

export function parseIf(header: string): List[] {
  const lists: List[] = [];
  const re = /\s*(?:(<[^>]*>)|(\()|(\))|(not)\b|(\[[^\]]*\]))/giy;
  let resource: string | null = null;
  let current: List | null = null;
  let not = false;
  let pos = 0;
  while (pos < header.length) {
    if (/^\s*$/.test(header.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(header);
    if (!m) throw new HttpError(400, `malformed If header near: ${header.slice(pos, pos + 40)}`);
    pos = re.lastIndex;
    if (m[1] && !current) resource = m[1].slice(1, -1);
    else if (m[1] && current) { current.conditions.push({ not, token: m[1].slice(1, -1) }); not = false; }
    else if (m[2]) { if (current) throw new HttpError(400, 'nested list in If header'); current = { resource, conditions: [] }; }
    else if (m[3]) { if (!current || current.conditions.length === 0) throw new HttpError(400, 'empty list in If header'); lists.push(current); current = null; }
    else if (m[4]) { if (!current) throw new HttpError(400, 'Not outside a list in If header'); not = true; }
    else if (m[5]) { if (!current) throw new HttpError(400, 'ETag outside a list in If header'); current.conditions.push({ not, etag: m[5].slice(1, -1) }); not = false; }
  }
  if (current) throw new HttpError(400, 'unclosed list in If header');
  return lists;
}

async function statOrNull(r: DavRequest, path: string): Promise<Stat | null> {
  try {
    return await r.env.vfs.getattr(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    throw e;
  }
}

/** Whether the request's If header (if any) holds; false means 412. */
export async function ifHolds(r: DavRequest): Promise<boolean> {
  const header = r.header('if');
  if (!header) return true;
  for (const list of parseIf(header)) {
    const path = list.resource ? urlPath(new URL(list.resource, 'http://x').pathname) : r.path;
    let ok = true;
    for (const c of list.conditions) {
      let v: boolean;
      if (c.token !== undefined) {
        v = (await r.env.locks.covering(path)).some((l) => l.token === c.token);
      } else {
        const s = await statOrNull(r, path);
        v = s !== null && sameEtag(etagOf(s), c.etag as string);
      }
      if (v === c.not) { ok = false; break; }
    }
    if (ok) return true;
  }
  return false;
}

function sameEtag(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.trim().replace(/^W\//, '');
}

function matchesAny(header: string, s: Stat | null): boolean {
  if (header.trim() === '*') return s !== null;
  if (!s) return false;
  const tag = etagOf(s);
  return header.split(',').some((t) => sameEtag(tag, t.trim()));
}

/**
 * HTTP's conditional headers: 'ok', 'not-modified' (GET/HEAD answer 304)
 * or 'failed' (412). `s` is the resource, or null when it does not exist.
 */
export function httpConditions(r: DavRequest, s: Stat | null, safe: boolean): 'ok' | 'not-modified' | 'failed' {
  const ifMatch = r.header('if-match');
  if (ifMatch && !matchesAny(ifMatch, s)) return 'failed';
  const ius = r.header('if-unmodified-since');
  if (!ifMatch && ius && s) {
    const t = Date.parse(ius);
    if (!Number.isNaN(t) && Math.floor(mtimeMs(s) / 1000) * 1000 > t) return 'failed';
  }
  const inm = r.header('if-none-match');
  if (inm && matchesAny(inm, s)) return safe ? 'not-modified' : 'failed';
  const ims = r.header('if-modified-since');
  if (!inm && ims && s && safe) {
    const t = Date.parse(ims);
    if (!Number.isNaN(t) && Math.floor(mtimeMs(s) / 1000) * 1000 <= t) return 'not-modified';
  }
  return 'ok';
}

/**
 * What every method that changes `path` checks first: the If header holds
 * (else 412), and no lock covers the path (or, for `deep`, anything below
 * it) whose token the request did not submit (else 423).
 */
export async function checkWrite(r: DavRequest, path: string, deep = false): Promise<void> {
  if (!(await ifHolds(r))) throw new HttpError(412, 'the If header does not hold');
  const l = await r.env.locks.blocked(path, r.tokens, deep);
  if (l) throw new HttpError(423, `${path} is locked (${l.root}${l.depth ? ', depth infinity' : ''}) and the request did not submit the lock token`);
}
