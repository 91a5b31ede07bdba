/**
 * LOCK and UNLOCK (class 2). A LOCK on an unmapped URL makes an empty file
 * (RFC 4918 §7.3); a LOCK without a body refreshes the lock named in the If
 * header; timeouts are capped. Only the user who took a lock may unlock it.
 */
import { errnoOf } from '../../vfs';
import { ifHolds } from '../conditions';
import { LockConflict } from '../locks';
import type { DavLock } from '../locks';
import type { DavRequest } from '../request';
import { HttpError } from '../request';
import { child, esc } from '../xml';

/** The timeout granted: what the client asks (Second-n or Infinite), capped. */
function timeoutOf(r: DavRequest): number {
  const max = r.env.maxLockSec;
  for (const t of r.header('timeout').split(',').map((x) => x.trim())) {
    if (/^infinite$/i.test(t)) return max;
    const m = /^second-(\d+)$/i.exec(t);
    if (m) return Math.max(1, Math.min(max, Number(m[1])));
  }
  return Math.min(max, 600);
}

export function activeLock(r: DavRequest, l: DavLock): string {
  return '<D:activelock>'
    + `<D:locktype><D:write/></D:locktype><D:lockscope><D:${l.exclusive ? 'exclusive' : 'shared'}/></D:lockscope>`
    + `<D:depth>${l.depth === 0 ? '0' : 'infinity'}</D:depth>`
    + (l.owner ? `<D:owner>${l.owner}</D:owner>` : '')
    + `<D:timeout>Second-${Math.max(0, Math.round((l.expires - Date.now()) / 1000))}</D:timeout>`
    + `<D:locktoken><D:href>${esc(l.token)}</D:href></D:locktoken>`
    + `<D:lockroot><D:href>${esc(r.href(l.root, false))}</D:href></D:lockroot>`
    + '</D:activelock>';
}

export function lockDiscovery(r: DavRequest, locks: DavLock[]): string {
  return locks.map((l) => activeLock(r, l)).join('');
}

function answer(r: DavRequest, status: number, l: DavLock): void {
  r.res.setHeader('Lock-Token', `<${l.token}>`);
  r.sendXml(status, `<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLock(r, l)}</D:lockdiscovery></D:prop>`);
}

export async function lock(r: DavRequest): Promise<void> {
  const x = await r.xml();
  if (!x) return refresh(r);
  if (x.ns !== 'DAV:' || x.local !== 'lockinfo') throw new HttpError(400, 'LOCK body must be a DAV:lockinfo');
  const scope = child(x, 'DAV:', 'lockscope')?.children[0];
  const type = child(x, 'DAV:', 'locktype')?.children[0];
  if (!scope || !['exclusive', 'shared'].includes(scope.local) || scope.ns !== 'DAV:') throw new HttpError(400, 'LOCK needs lockscope exclusive or shared');
  if (!type || type.local !== 'write' || type.ns !== 'DAV:') throw new HttpError(400, 'only write locks exist');
  const ownerEl = child(x, 'DAV:', 'owner');
  // The owner's content as sent, its namespaces declared on the wrapper we drop.
  const owner = ownerEl ? ownerEl.xml.replace(/^<[^>]*>/, '').replace(/<\/[^>]*>$/, '') : '';
  const depth = r.depth(-1);
  if (depth === 1) throw new HttpError(400, 'LOCK takes Depth 0 or infinity');
  if (!(await ifHolds(r))) throw new HttpError(412, 'the If header does not hold');
  let created = false;
  try {
    await r.env.vfs.getattr(r.path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
    await r.needParent(r.path);
    created = true;
  }
  let l: DavLock;
  try {
    l = await r.env.locks.acquire({
      root: r.path, depth, exclusive: scope.local === 'exclusive', owner, user: r.user, timeoutSec: timeoutOf(r),
    });
  } catch (e) {
    if (e instanceof LockConflict) throw new HttpError(423, `${r.path} cannot be locked: ${e.message}`);
    throw e;
  }
  if (created) {
    try {
      const fh = await r.env.vfs.create(r.path, 0o644);
      try {
        await r.env.vfs.flush(fh);
      } finally {
        await r.env.vfs.release(fh);
      }
    } catch (e) {
      await r.env.locks.release(l.token);
      if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') throw new HttpError(409, `the parent of ${r.path} is not a collection`);
      throw e;
    }
  }
  answer(r, created ? 201 : 200, l);
}

async function refresh(r: DavRequest): Promise<void> {
  const mine = (await r.env.locks.covering(r.path)).filter((l) => r.tokens.has(l.token));
  if (mine.length === 0) throw new HttpError(412, 'a lock refresh must name a lock on this resource in its If header');
  const l = await r.env.locks.refresh(mine[0].token, timeoutOf(r));
  if (!l) throw new HttpError(412, 'the lock has expired');
  answer(r, 200, l);
}

export async function unlock(r: DavRequest): Promise<void> {
  await r.drain();
  const m = /^\s*<([^>]+)>\s*$/.exec(r.header('lock-token'));
  if (!m) throw new HttpError(400, 'UNLOCK needs a Lock-Token header');
  const l = (await r.env.locks.covering(r.path)).find((x) => x.token === m[1]);
  if (!l) throw new HttpError(409, `no lock ${m[1]} covers ${r.path}`);
  if (l.user && l.user !== r.user) throw new HttpError(403, 'only the user who took a lock can remove it');
  await r.env.locks.release(l.token);
  r.send(204);
}
