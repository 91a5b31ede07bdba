/**
 * DELETE and MKCOL. Codes follow what the original tracker checks:
 * DELETE answers 204 when the file went away and 404 when it was not there
 * (MogileFS::HTTPFile::delete accepts exactly those); MKCOL answers 2xx for a
 * directory that now exists, new (201) or already there (200), because the
 * tracker's create_directory treats 400/405/501 as "this server has no MKCOL".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { unlink, lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import { type DevicePath, parseDevicePath, parentKnownInside, refuseUsageWrite, resolveExisting, ensureDirInside, PathError } from './paths';

function reply(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Length', 0);
  res.end();
}

export async function handleDelete(docroot: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dp = parseDevicePath(docroot, req.url ?? '/');
  if (!(await deleteInside(dp))) throw new PathError(404, `${dp.uri} not found`);
  reply(res, 204);
}

/**
 * Removes the file `dp` names: true when it went, false when it was not
 * there. A PathError for what may not be deleted (a device directory, the
 * usage file, a directory, a path that leaves the device). Shared by HTTP
 * DELETE and the side channel's `delete`.
 */
export async function deleteInside(dp: DevicePath): Promise<boolean> {
  if (dp.segments.length === 0) throw new PathError(400, 'refusing to delete a device directory');
  refuseUsageWrite(dp, 'DELETE');
  // The parent must resolve inside the device; the entry itself is unlinked
  // without following it, so a symlink is removed, never its target.
  let target = dp.abs;
  if (!(await parentKnownInside(dp))) {
    const parent = await resolveExisting(dp, path.dirname(dp.abs));
    if (parent === null) return false;
    target = path.join(parent, path.basename(dp.abs));
  }
  let st;
  try {
    st = await lstat(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  // A symlink whose target is outside the device is refused rather than removed.
  if (st.isSymbolicLink()) await resolveExisting(dp);
  if (st.isDirectory()) throw new PathError(400, `${dp.uri} is a directory; only files can be deleted`);
  try {
    await unlink(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  return true;
}

export async function handleMkcol(docroot: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dp = parseDevicePath(docroot, req.url ?? '/');
  refuseUsageWrite(dp, 'MKCOL');
  let created: boolean;
  try {
    created = await ensureDirInside(dp, dp.abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new PathError(409, `${dp.uri} exists and is not a directory`);
    throw e;
  }
  if (!created) {
    // ensureDirInside already checked it resolves inside the device.
    if (!(await stat(dp.abs)).isDirectory()) throw new PathError(409, `${dp.uri} exists and is not a directory`);
  }
  reply(res, created ? 201 : 200);
}
