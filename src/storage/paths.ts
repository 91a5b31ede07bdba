/**
 * Confinement of request paths to a device directory. Every HTTP and side
 * channel path goes through here: a path is `/dev<N>/<segments>`, each
 * segment made only of the characters fid paths use (the original Perlbal
 * backend allowed [\w.-] too), never `.` or `..`, and whatever it resolves to
 * on disk (symlinks included) must stay inside that device's real directory.
 */
import { constants } from 'node:fs';
import { realpath, mkdir, lstat, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { openFd } from './fd';

/** A refused path: `status` is the HTTP status to answer with. */
export class PathError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    this.name = 'PathError';
  }
}

export interface DevicePath {
  devid: number;
  /** `/dev<N>/...` as normalised from the request (decoded, no trailing slash). */
  uri: string;
  /** Path segments below the device directory (may be empty for `/dev<N>`). */
  segments: string[];
  /** docroot/dev<N> (not resolved). */
  devDir: string;
  /** docroot/dev<N>/segments... (not resolved). */
  abs: string;
}

const SEGMENT_RE = /^[A-Za-z0-9_.-]+$/;
const DEV_RE = /^dev([0-9]{1,9})$/;

/**
 * Parse a raw request target (as it came on the wire) into a device path.
 * Refuses traversal in every spelling: raw or percent-encoded `..`, encoded
 * `/` or `\`, NUL, doubled encodings (a `%` left after decoding), empty
 * segments in the middle, and anything not under `/dev<N>`.
 */
export function parseDevicePath(docroot: string, rawTarget: string): DevicePath {
  let target = rawTarget;
  const q = target.indexOf('?');
  if (q >= 0) target = target.slice(0, q);
  if (!target.startsWith('/')) throw new PathError(400, 'path must start with /');
  if (target.includes('\0') || target.includes('\\')) {
    throw new PathError(400, 'path contains a forbidden character');
  }
  // A doubled leading slash is what mogadm check asks for ("http://ip:port/" .
  // "/dev1/usage"), and Perlbal served it: collapse that one, never a later one.
  target = target.replace(/^\/{2,}/, '/');
  if (target === '/') throw new PathError(404, 'only /dev<N>/ paths are served');
  const rawSegments = target.slice(1).split('/');
  // One trailing slash is tolerated (MKCOL of a directory); other empty
  // segments ("//", "/dev1//x") are refused rather than silently collapsed.
  if (rawSegments.length > 1 && rawSegments[rawSegments.length - 1] === '') rawSegments.pop();
  const segments: string[] = [];
  for (const raw of rawSegments) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new PathError(400, 'path has bad percent-encoding');
    }
    if (seg === '.' || seg === '..') throw new PathError(400, 'path must not contain . or .. segments');
    if (!SEGMENT_RE.test(seg)) throw new PathError(400, 'path segment has characters a device path never uses');
    segments.push(seg);
  }
  const m = DEV_RE.exec(segments[0] ?? '');
  if (!m) throw new PathError(404, 'only /dev<N>/ paths are served');
  const devid = Number(m[1]);
  const below = segments.slice(1);
  const devDir = path.join(docroot, `dev${devid}`);
  return {
    devid,
    uri: '/' + segments.join('/'),
    segments: below,
    devDir,
    abs: below.length ? path.join(devDir, ...below) : devDir,
  };
}

/** The usage file at the top of each device: mogstored writes it, and trackers trust it for free space. */
export const USAGE_FILE = 'usage';

/** Refuse a write (PUT, DELETE, MKCOL) of a device's usage file, or of anything below that name. */
export function refuseUsageWrite(dp: DevicePath, method: string): void {
  if (dp.segments[0] !== USAGE_FILE) return;
  throw new PathError(
    403,
    `${method} ${dp.uri} refused: /dev${dp.devid}/usage is the usage file, written by mogstored itself; trackers trust it for the device's free space`,
  );
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** The real (symlink-resolved) device directory; 404 when the device is not here. */
export async function realDevDir(dp: DevicePath): Promise<string> {
  try {
    return await realpath(dp.devDir);
  } catch {
    throw new PathError(404, `device dev${dp.devid} does not exist on this storage node`);
  }
}

/**
 * Directories recently seen to resolve inside their device. realpath costs a
 * readlink per path component, and nearly every request goes to one of a few
 * thousand fid directories, so each is checked once per VERIFIED_TTL_MS
 * instead of on every request. The file itself is then opened with
 * O_NOFOLLOW, so the last component can't lead anywhere else either.
 */
const VERIFIED_TTL_MS = 5000;
const MAX_VERIFIED = 20_000;
const verifiedDirs = new Map<string, number>();

function rememberInside(dir: string): void {
  if (verifiedDirs.size >= MAX_VERIFIED) verifiedDirs.clear();
  verifiedDirs.set(dir, Date.now());
}

/** True when `dir` was seen resolving inside its device within VERIFIED_TTL_MS. */
function recentlyInside(dir: string): boolean {
  const at = verifiedDirs.get(dir);
  return at !== undefined && Date.now() - at < VERIFIED_TTL_MS;
}

/** True when `dir` exists and resolves inside the device (cached briefly); false when missing or not known to be inside. */
async function dirKnownInside(dp: DevicePath, dir: string): Promise<boolean> {
  if (recentlyInside(dir)) return true;
  let real: string;
  try {
    real = await realpath(dir);
  } catch {
    return false;
  }
  if (!isInside(await realDevDir(dp), real)) return false;
  rememberInside(dir);
  return true;
}

/**
 * Open a file for reading, confined to its device: a plain descriptor, null
 * when it does not exist, PathError when it resolves outside. A plain file
 * in a known-good directory costs one open(); a symlinked file takes the
 * full check.
 */
export function openInside(dp: DevicePath): Promise<number | null> {
  // The common case (a directory checked moments ago) without an extra await.
  if (dp.segments.length > 0 && recentlyInside(path.dirname(dp.abs))) return openPlain(dp);
  return openInsideSlow(dp);
}

/** open() with O_NOFOLLOW of a file whose directory is known inside; a symlink takes the full check. */
async function openPlain(dp: DevicePath): Promise<number | null> {
  try {
    return await openFd(dp.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code !== 'ELOOP') throw e;
  }
  return openResolved(dp);
}

async function openResolved(dp: DevicePath): Promise<number | null> {
  const real = await resolveExisting(dp);
  return real === null ? null : openFd(real, constants.O_RDONLY);
}

async function openInsideSlow(dp: DevicePath): Promise<number | null> {
  if (dp.segments.length > 0 && (await dirKnownInside(dp, path.dirname(dp.abs)))) return openPlain(dp);
  return openResolved(dp);
}

/**
 * stat() of a path confined to its device: null when it does not exist. A
 * plain file in a known-good directory costs one lstat(); a symlink takes
 * the full check and is followed.
 */
export async function statInside(dp: DevicePath): Promise<Stats | null> {
  if (dp.segments.length > 0 && (await dirKnownInside(dp, path.dirname(dp.abs)))) {
    try {
      const st = await lstat(dp.abs);
      if (!st.isSymbolicLink()) return st;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }
  const real = await resolveExisting(dp);
  return real === null ? null : stat(real);
}

/** True when the parent directory of `dp` exists and is known to resolve inside the device (cached briefly). */
export function parentKnownInside(dp: DevicePath): Promise<boolean> {
  return dp.segments.length > 0 ? dirKnownInside(dp, path.dirname(dp.abs)) : Promise.resolve(false);
}

/**
 * Make sure the parent directory of a file about to be written exists inside
 * the device: a cached check when it was seen recently, else ensureDirInside.
 */
export async function ensureParentInside(dp: DevicePath): Promise<void> {
  const parent = path.dirname(dp.abs);
  if (await dirKnownInside(dp, parent)) return;
  await ensureDirInside(dp, parent);
  rememberInside(parent);
}

/**
 * Resolve a path (following symlinks) and check it stays inside the device.
 * Returns null when it does not exist; even then its deepest existing
 * ancestor must be inside, so "missing" is never answered for a place
 * outside the device.
 */
export async function resolveExisting(dp: DevicePath, p: string = dp.abs): Promise<string | null> {
  const root = await realDevDir(dp);
  let probe = p;
  for (;;) {
    let real: string | null = null;
    try {
      real = await realpath(probe);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    }
    if (real !== null) {
      if (!isInside(root, real)) throw new PathError(403, 'path resolves outside its device directory');
      return probe === p ? real : null;
    }
    const up = path.dirname(probe);
    // dp.devDir itself resolved above (realDevDir), so this always ends there.
    if (up === probe || !isInside(dp.devDir, up)) return null;
    probe = up;
  }
}

/**
 * Make sure `dir` (inside the device) exists as a directory, creating missing
 * levels, without ever creating anything through a symlink that leads out of
 * the device (resolveExisting checked the deepest existing ancestor).
 * Returns true when something was created.
 */
export async function ensureDirInside(dp: DevicePath, dir: string): Promise<boolean> {
  if ((await resolveExisting(dp, dir)) !== null) return false;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  // Re-check after creating: the result must still resolve inside the device.
  if ((await resolveExisting(dp, dir)) === null) throw new PathError(500, 'directory vanished after creation');
  return true;
}
