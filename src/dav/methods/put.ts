/**
 * PUT: the body streamed into a Vfs write handle, committed (uploaded) when
 * the body ends, so the answer says whether it is stored. Nothing changes
 * when the client goes away mid-body: the half-written content is dropped.
 * Chunked bodies without Content-Length (Finder) stream the same way.
 */
import { pipeline } from 'node:stream/promises';
import { errnoOf } from '../../vfs';
import type { Stat } from '../../vfs';
import { checkWrite, httpConditions } from '../conditions';
import type { DavRequest } from '../request';
import { HttpError } from '../request';
import { etagOf, isDirStat } from '../stat';
import { VfsWriteStream } from '../streams';

export async function put(r: DavRequest): Promise<void> {
  if (r.header('content-range')) throw new HttpError(400, 'partial PUT (Content-Range) is not supported');
  let s: Stat | null = null;
  try {
    s = await r.env.vfs.getattr(r.path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  if (s && isDirStat(s)) throw new HttpError(405, `${r.path} is a collection`);
  if (!s) await r.needParent(r.path);
  await checkWrite(r, r.path);
  if (httpConditions(r, s, false) !== 'ok') throw new HttpError(412, 'precondition failed');
  let ws: VfsWriteStream;
  try {
    ws = await VfsWriteStream.open(r.env.vfs, r.path);
  } catch (e) {
    // A missing parent collection is a conflict (RFC 4918 §9.7.1).
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') throw new HttpError(409, `the parent of ${r.path} is not a collection`);
    throw e;
  }
  await pipeline(r.req, ws);
  // ownCloud's header for the file's mtime (rclone's owncloud/nextcloud vendors send it): kept as the mount's mtime.
  const ocMtime = Number(r.header('x-oc-mtime'));
  if (r.header('x-oc-mtime') && Number.isFinite(ocMtime) && ocMtime >= 0) {
    await r.env.vfs.utimens(r.path, { sec: Math.floor(ocMtime), nsec: Math.round((ocMtime % 1) * 1e9) });
    r.res.setHeader('X-OC-MTime', 'accepted');
  }
  const now = await r.env.vfs.getattr(r.path).catch(() => null);
  if (now) r.res.setHeader('ETag', etagOf(now));
  r.send(s ? 204 : 201);
}
