/**
 * Dead properties (PROPPATCH) as extended attributes `user.dav.{ns}name` of
 * the resource, in our attribute table: they survive restarts, show from
 * every bridge process, follow renames and go with the file. A value is the
 * property element's XML text, self-contained, so it reads back as it was
 * set, namespaces included.
 */
import { errnoOf } from '../vfs';
import type { Vfs } from '../vfs';
import { clark } from './xml';

export const PROP_PREFIX = 'user.dav.';

export interface DeadProp {
  ns: string;
  local: string;
  /** The element's XML. */
  xml: string;
}

export function xattrName(ns: string, local: string): string {
  return PROP_PREFIX + clark(ns, local);
}

function fromXattrName(name: string): { ns: string; local: string } | null {
  const m = /^\{([^}]*)\}(.+)$/.exec(name.slice(PROP_PREFIX.length));
  return m ? { ns: m[1], local: m[2] } : null;
}

/** The resource's dead properties; none where the tracker keeps no attributes (a stock tracker). */
export async function readProperties(vfs: Vfs, path: string, namesOnly = false): Promise<DeadProp[]> {
  let names: string[];
  try {
    names = await vfs.listxattr(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOTSUP') return [];
    throw e;
  }
  const out: DeadProp[] = [];
  for (const name of names) {
    if (!name.startsWith(PROP_PREFIX)) continue;
    const n = fromXattrName(name);
    if (!n) continue;
    if (namesOnly) {
      out.push({ ...n, xml: '' });
      continue;
    }
    const v = await vfs.getxattr(path, name).catch(() => null);
    if (v) out.push({ ...n, xml: v.toString('utf8') });
  }
  return out;
}

export async function readProperty(vfs: Vfs, path: string, ns: string, local: string): Promise<string | null> {
  try {
    return (await vfs.getxattr(path, xattrName(ns, local))).toString('utf8');
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENODATA' || errno === 'ENOTSUP' || errno === 'ERANGE') return null;
    throw e;
  }
}
