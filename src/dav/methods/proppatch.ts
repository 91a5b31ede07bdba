/**
 * PROPPATCH: all of a request's changes, or none (RFC 4918 §9.2). Live
 * DAV: properties are protected (403, the rest 424), except that Windows'
 * Win32LastModifiedTime sets the mtime and its other Win32 properties are
 * accepted and dropped: the mini-redirector needs a 207 for them.
 */
import { errnoOf } from '../../vfs';
import { checkWrite } from '../conditions';
import { xattrName } from '../props';
import type { DavRequest } from '../request';
import { HttpError } from '../request';
import { child, emptyElement, esc } from '../xml';
import type { XNode } from '../xml';

const MS = 'urn:schemas-microsoft-com:';
const WIN32_DROPPED = new Set(['Win32CreationTime', 'Win32LastAccessTime', 'Win32FileAttributes']);

interface Change { el: XNode; remove: boolean }

export async function proppatch(r: DavRequest): Promise<void> {
  const x = await r.xml();
  if (!x || x.ns !== 'DAV:' || x.local !== 'propertyupdate') throw new HttpError(400, 'PROPPATCH body must be a DAV:propertyupdate');
  await r.env.vfs.getattr(r.path);
  await checkWrite(r, r.path);
  const changes: Change[] = [];
  for (const op of x.children) {
    if (op.ns !== 'DAV:' || (op.local !== 'set' && op.local !== 'remove')) continue;
    for (const el of child(op, 'DAV:', 'prop')?.children ?? []) changes.push({ el, remove: op.local === 'remove' });
  }
  const status = new Map<Change, number>();
  for (const c of changes) if (c.el.ns === 'DAV:') status.set(c, 403);
  if (status.size === 0) await apply(r, changes, status);
  for (const c of changes) if (!status.has(c)) status.set(c, status.size > 0 && [...status.values()].some((s) => s >= 400) ? 424 : 200);
  const byCode = new Map<number, string[]>();
  for (const c of changes) {
    const code = status.get(c) as number;
    byCode.set(code, [...(byCode.get(code) ?? []), emptyElement(c.el.ns, c.el.local)]);
  }
  const stats = [...byCode].map(([code, els]) =>
    `<D:propstat><D:prop>${els.join('')}</D:prop><D:status>HTTP/1.1 ${code} ${REASON[code] ?? ''}</D:status></D:propstat>`).join('');
  r.sendXml(207, `<D:multistatus xmlns:D="DAV:"><D:response><D:href>${esc(r.href(r.path, false))}</D:href>${stats}</D:response></D:multistatus>`);
}

const REASON: Record<number, string> = { 200: 'OK', 403: 'Forbidden', 424: 'Failed Dependency', 507: 'Insufficient Storage', 500: 'Internal Server Error' };

/** Applies the changes in order; on a failure, undoes what was applied (best effort) and marks the failure. */
async function apply(r: DavRequest, changes: Change[], status: Map<Change, number>): Promise<void> {
  const vfs = r.env.vfs;
  const undo: (() => Promise<unknown>)[] = [];
  for (const c of changes) {
    const { ns, local } = c.el;
    try {
      if (ns === MS && local === 'Win32LastModifiedTime' && !c.remove) {
        const t = Date.parse(c.el.text);
        if (!Number.isNaN(t)) await vfs.utimens(r.path, { sec: Math.floor(t / 1000), nsec: (t % 1000) * 1e6 });
        continue;
      }
      if (ns === MS && WIN32_DROPPED.has(local)) continue;
      const name = xattrName(ns, local);
      const before = await vfs.getxattr(r.path, name).catch(() => null);
      if (c.remove) {
        if (before) await vfs.removexattr(r.path, name);
      } else {
        await vfs.setxattr(r.path, name, Buffer.from(c.el.xml), 0);
      }
      undo.push(() => (before ? vfs.setxattr(r.path, name, before, 0) : vfs.removexattr(r.path, name)));
    } catch (e) {
      const errno = errnoOf(e);
      status.set(c, errno === 'E2BIG' || errno === 'ERANGE' || errno === 'ENOSPC' ? 507 : errno === 'ENOTSUP' || errno === 'EPERM' ? 403 : 500);
      for (const u of undo.reverse()) await u().catch(() => undefined);
      return;
    }
  }
}
