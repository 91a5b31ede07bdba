/**
 * The start-up sweep: a storage node that crashed (kill -9, power loss) mid
 * upload leaves the upload's temp file beside its target, where nothing
 * would ever remove it. At start each dev<N>/ tree is walked and our own
 * leftovers are removed: PUT temp files (`put.ts`'s names) and usage file
 * temp files; nothing else, and never a `.fid`.
 *
 * It runs in the background once the node listens, because walking a device
 * of millions of fids takes minutes and the node should serve meanwhile.
 * That is safe because a PUT temp name carries the pid and a random stem of
 * the process writing it: this process's own files are never touched, nor
 * those of another live process (a second mogstored started on the same
 * docroot by mistake). A name whose pid is no running process, or is our
 * own pid under another stem (a container restarted with the same pid), is
 * a crash's leftover. Usage temp files carry no pid: one untouched for a
 * minute is a leftover (a live one exists for milliseconds).
 */
import { lstat, opendir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pidAlive } from '../common/daemon';
import type { Logger } from '../common/log';
import { isOwnTempName, parseTempName } from './put';
import { listDevices } from './usage';

/** A usage temp file untouched for this long is a leftover. */
const USAGE_TEMP_AGE_MS = 60_000;
const USAGE_TEMP_RE = /^usage\.tmp-[0-9a-f]{12}$/;

export interface SweepResult {
  removed: number;
  /** Temp files of another running process, left alone. */
  kept: number;
}

/** Is this PUT temp name a crash's leftover? */
export function isLeftoverPutTemp(name: string): boolean {
  const t = parseTempName(name);
  if (!t || isOwnTempName(name)) return false;
  return t.pid === process.pid || !pidAlive(t.pid);
}

/** Remove our temp files that a crash left under every dev<N>/ of docroot. */
export async function sweepTempFiles(docroot: string, log: Logger, signal?: AbortSignal): Promise<SweepResult> {
  const result: SweepResult = { removed: 0, kept: 0 };
  for (const devid of await listDevices(docroot)) {
    const devDir = path.join(docroot, `dev${devid}`);
    await sweepUsageTemps(devDir, log, result);
    await walk(devDir, log, result, signal);
  }
  return result;
}

async function sweepUsageTemps(devDir: string, log: Logger, result: SweepResult): Promise<void> {
  const dir = await opendir(devDir).catch(() => null);
  if (!dir) return;
  for await (const e of dir) {
    if (!e.isFile() || !USAGE_TEMP_RE.test(e.name)) continue;
    const file = path.join(devDir, e.name);
    const st = await lstat(file).catch(() => null);
    if (st && Date.now() - st.mtimeMs > USAGE_TEMP_AGE_MS) await remove(file, log, result);
  }
}

/** Depth-first over real directories (symlinks are not followed: they may lead off the device). */
async function walk(dirPath: string, log: Logger, result: SweepResult, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  const dir = await opendir(dirPath).catch((err: unknown) => {
    log.warn({ err, dir: dirPath }, 'temp file sweep cannot read a directory; skipped');
    return null;
  });
  if (!dir) return;
  const subdirs: string[] = [];
  for await (const e of dir) {
    if (e.isDirectory()) subdirs.push(path.join(dirPath, e.name));
    else if (e.isFile() && parseTempName(e.name)) {
      if (isLeftoverPutTemp(e.name)) await remove(path.join(dirPath, e.name), log, result);
      else result.kept++;
    }
  }
  for (const sub of subdirs) await walk(sub, log, result, signal);
}

async function remove(file: string, log: Logger, result: SweepResult): Promise<void> {
  try {
    await unlink(file);
    result.removed++;
    log.debug({ file }, 'removed a temp file a crash left behind');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err, file }, 'could not remove a leftover temp file');
  }
}
