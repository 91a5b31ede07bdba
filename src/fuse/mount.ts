/**
 * Mounting a Vfs with FUSE: the mount options that make it fast and honest
 * (128 KiB writes, O_TRUNC passed to open, attribute caching as long as the
 * view caches, permissions checked by the kernel), clearing a dead mount a
 * killed process left at the mount point, and unmounting.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../common/log';
import type { Vfs } from '../vfs';
import { loadFuse } from './binding';
import type { FuseInstance } from './binding';
import { makeOps } from './ops';

export interface MountOptions {
  mountpoint: string;
  vfs: Vfs;
  log: Logger;
  /** What `mount` and `df` show as the source, e.g. mogfs:photos. */
  fsname: string;
  /** Seconds the kernel may trust attributes and names (the view's cache time). */
  cacheSeconds: number;
  readOnly?: boolean;
  /** Let other users in (needs user_allow_other in /etc/fuse.conf unless root). */
  allowOther?: boolean;
}

export interface Mounted {
  mountpoint: string;
  /** Unmounts (lazily, so a busy mount point does not block) and closes the view. */
  unmount(): Promise<void>;
}

function fusermountUnmount(mnt: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('fusermount', ['-u', '-z', mnt], (err, _out, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve()));
  });
}

/** Whether `mnt` is a mount point in /proc/mounts, and of which type. */
async function mountedType(mnt: string): Promise<string | null> {
  const text = await readFile('/proc/mounts', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    // /proc/mounts escapes spaces and the like as \040 octal.
    const where = (f[1] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (where === mnt) return f[2] ?? null;
  }
  return null;
}

/**
 * Makes `mnt` usable as a mount point: created when missing; a FUSE mount
 * left there by a killed process (ENOTCONN) is unmounted; a live mount is an
 * error, not something to mount over.
 */
export async function prepareMountpoint(mnt: string, log: Logger): Promise<void> {
  try {
    const st = await stat(mnt);
    if (!st.isDirectory()) throw new Error(`${mnt} is not a directory`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      await mkdir(mnt, { recursive: true });
    } else if (code === 'ENOTCONN' || code === 'ECONNABORTED') {
      log.warn({ mountpoint: mnt }, 'a dead FUSE mount was left here (its process was killed); unmounting it');
      await fusermountUnmount(mnt);
    } else {
      throw e;
    }
  }
  const type = await mountedType(mnt);
  if (type !== null) {
    throw new Error(`${mnt} is already mounted (${type}); unmount it first (fusermount -u ${mnt})`);
  }
}

export async function mountVfs(opts: MountOptions): Promise<Mounted> {
  const Fuse = loadFuse();
  const mnt = path.resolve(opts.mountpoint);
  await prepareMountpoint(mnt, opts.log);
  const secs = String(Math.max(0, opts.cacheSeconds));
  const options = [
    `fsname=${opts.fsname.replace(/[,\\]/g, '_')}`, 'subtype=mogfs',
    'big_writes', 'max_write=131072', 'max_read=131072', 'atomic_o_trunc', 'default_permissions', 'auto_cache',
    `attr_timeout=${secs}`, `entry_timeout=${secs}`, `negative_timeout=${secs}`,
    // One read at a time per file, in order: the view streams each file sequentially from one GET.
    'sync_read',
  ];
  if (opts.readOnly) options.push('ro');
  if (opts.allowOther) options.push('allow_other');
  const fuse: FuseInstance = new Fuse(mnt, makeOps(opts.vfs, Fuse, opts.log), { mountOptions: options });
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  opts.log.info({ mountpoint: mnt, options }, 'mounted');
  let done: Promise<void> | null = null;
  return {
    mountpoint: mnt,
    unmount: () => {
      done ??= (async () => {
        await new Promise<void>((resolve) => fuse.unmount((err) => {
          if (err) opts.log.warn({ err: err.message }, 'unmount failed');
          resolve();
        }));
        await opts.vfs.close();
      })();
      return done;
    },
  };
}
