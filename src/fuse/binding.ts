// The one door to fuse-native: loads it only after proving the native binding
// behind it is our patched build (scripts/build-fuse.js), types the little of it
// we use, and answers "can FUSE be mounted here, and if not, why".
import path from 'node:path';
import { execFile } from 'node:child_process';
import { access, open, stat, constants } from 'node:fs/promises';

/**
 * Times cross the patched binding as MICROSECONDS since the epoch, both ways:
 * the atime/mtime/ctime numbers a getattr/readdir answer carries, and the two
 * times `utimens` receives. Pass numbers (see `toUs`, `usFromDate`), never
 * Date objects: fuse-native would send a Date as milliseconds.
 */
export const TIME_UNIT_US = true;

/**
 * A `utimens` time at or above this means UTIME_OMIT: leave that time as it
 * is (`touch -m`, `touch -a`: utimensat with UTIME_OMIT). The binding sends 2^64 - 1 (both
 * uint32 halves all ones); real times are clamped below 2^53. UTIME_NOW never
 * reaches JS: the binding replaces it with the current time.
 */
export const UTIME_OMIT_THRESHOLD = 0xffffffff * 2 ** 32;

/** The value of `mogfs_patch` that scripts/build-fuse.js compiles in. */
export const MOGFS_PATCH_LEVEL = 2;

/** fuse-native copies the mount point and the `-o` string into 1024-byte buffers (NUL included). */
const MAX_NATIVE_STRING = 1023;

/** Microseconds since the epoch from seconds and nanoseconds. */
export function toUs(sec: number, nsec = 0): number {
  return sec * 1_000_000 + Math.trunc(nsec / 1000);
}

/** Microseconds since the epoch of a Date (whose precision is 1 ms). */
export function usFromDate(d: Date): number {
  return d.getTime() * 1000;
}

/** True when a time `utimens` received means "leave this one unchanged". */
export function isUtimeOmit(us: number): boolean {
  return us >= UTIME_OMIT_THRESHOLD;
}

/** Attributes answered by getattr (and readdir); times in microseconds. */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime: number;
  mtime: number;
  ctime: number;
  nlink?: number;
  ino?: number;
  dev?: number;
  rdev?: number;
  blksize?: number;
  blocks?: number;
}

export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/** Errors are negative errno numbers (`Fuse.ENOENT`); 0 is success. */
export type FuseDone = (err: number) => void;
/** read/write answer a byte count, or a negative errno. */
export type FuseIoDone = (result: number) => void;
export type FuseFdDone = (err: number, fd?: number) => void;

/**
 * The operations fuse-native 2.2.6 calls, with its argument order. Paths are
 * relative to the mount, starting with '/'. Note fuse-native answers fgetattr
 * by calling `getattr`, so only getattr matters for attributes.
 */
export interface FuseOps {
  init?(cb: FuseDone): void;
  access?(path: string, mode: number, cb: FuseDone): void;
  statfs?(path: string, cb: (err: number, st?: FuseStatfs) => void): void;
  getattr?(path: string, cb: (err: number, st?: FuseStat) => void): void;
  fgetattr?(path: string, fd: number, cb: (err: number, st?: FuseStat) => void): void;
  flush?(path: string, fd: number, cb: FuseDone): void;
  fsync?(path: string, datasync: number, fd: number, cb: FuseDone): void;
  fsyncdir?(path: string, datasync: number, fd: number, cb: FuseDone): void;
  readdir?(path: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void): void;
  truncate?(path: string, size: number, cb: FuseDone): void;
  ftruncate?(path: string, fd: number, size: number, cb: FuseDone): void;
  /** Times in microseconds; `isUtimeOmit(t)` means leave that one unchanged. */
  utimens?(path: string, atime: number, mtime: number, cb: FuseDone): void;
  readlink?(path: string, cb: (err: number, target?: string) => void): void;
  chown?(path: string, uid: number, gid: number, cb: FuseDone): void;
  chmod?(path: string, mode: number, cb: FuseDone): void;
  mknod?(path: string, mode: number, dev: number, cb: FuseDone): void;
  setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: FuseDone): void;
  getxattr?(path: string, name: string, position: number, cb: (err: number, value?: Buffer | null) => void): void;
  listxattr?(path: string, cb: (err: number, names?: string[]) => void): void;
  removexattr?(path: string, name: string, cb: FuseDone): void;
  open?(path: string, flags: number, cb: FuseFdDone): void;
  opendir?(path: string, flags: number, cb: FuseFdDone): void;
  /** `buf` is libfuse's memory, valid until `cb` runs: copy into it, don't keep it. */
  read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: FuseIoDone): void;
  /** `buf` is libfuse's memory, valid until `cb` runs: copy out of it, don't keep it. */
  write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: FuseIoDone): void;
  release?(path: string, fd: number, cb: FuseDone): void;
  releasedir?(path: string, fd: number, cb: FuseDone): void;
  create?(path: string, mode: number, cb: FuseFdDone): void;
  unlink?(path: string, cb: FuseDone): void;
  rename?(src: string, dest: string, cb: FuseDone): void;
  link?(src: string, dest: string, cb: FuseDone): void;
  symlink?(target: string, path: string, cb: FuseDone): void;
  mkdir?(path: string, mode: number, cb: FuseDone): void;
  rmdir?(path: string, cb: FuseDone): void;
}

export interface FuseOptions {
  /**
   * The exact `-o` options libfuse gets, e.g. ['big_writes', 'max_write=131072',
   * 'fsname=mogfs', 'subtype=mogfs', 'atomic_o_trunc', 'default_permissions',
   * 'allow_other']. When given, fuse-native's own option flags are ignored.
   */
  mountOptions?: readonly string[];
  /**
   * fuse-native's per-operation timeout (ms, per op name, or false). Defaults
   * to false here: our operations carry their own timeouts.
   */
  timeout?: number | false | Record<string, number | false>;
  /** Create the mount point when missing. */
  mkdir?: boolean;
  /** libfuse debug output on stderr (when mountOptions is not given). */
  debug?: boolean;
}

export interface FuseInstance {
  readonly mnt: string;
  /** Calls back once the kernel has sent FUSE_INIT, i.e. the mount serves. */
  mount(cb: (err: Error | null) => void): void;
  /** `fusermount -u -z` on the mount point, then releases the binding's loop handle. */
  unmount(cb: (err: Error | null) => void): void;
}

export type FuseErrnoName =
  | 'EPERM' | 'ENOENT' | 'ESRCH' | 'EINTR' | 'EIO' | 'ENXIO' | 'E2BIG' | 'EBADF' | 'EAGAIN' | 'ENOMEM'
  | 'EACCES' | 'EFAULT' | 'EBUSY' | 'EEXIST' | 'EXDEV' | 'ENODEV' | 'ENOTDIR' | 'EISDIR' | 'EINVAL'
  | 'ENFILE' | 'EMFILE' | 'ENOTTY' | 'ETXTBSY' | 'EFBIG' | 'ENOSPC' | 'ESPIPE' | 'EROFS' | 'EMLINK'
  | 'EPIPE' | 'ERANGE' | 'EDEADLK' | 'ENAMETOOLONG' | 'ENOLCK' | 'ENOSYS' | 'ENOTEMPTY' | 'ELOOP'
  | 'EWOULDBLOCK' | 'ENODATA' | 'ETIME' | 'EOVERFLOW' | 'EBADFD' | 'EOPNOTSUPP' | 'ENOTCONN'
  | 'ETIMEDOUT' | 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ESTALE' | 'EREMOTEIO' | 'EDQUOT';

export type FuseClass = { readonly [K in FuseErrnoName]: number } & {
  new (mnt: string, ops: FuseOps, opts?: FuseOptions): FuseInstance;
  /** `fusermount -u -z mnt` (lazy), e.g. for a dead mount left at that path. */
  unmount(mnt: string, cb: (err: Error | null) => void): void;
};

interface NodeGypBuild {
  (dir: string): unknown;
  resolve(dir: string): string;
}

let loaded: FuseClass | null = null;

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

// The script ships in the package too (dist/src/fuse/ -> scripts/), so the
// path named is the one to run in a checkout and in an `npm install -g`.
const BUILD_FUSE = path.resolve(__dirname, '..', '..', '..', 'scripts', 'build-fuse.js');
const FIX = `run \`node ${BUILD_FUSE}\` (it needs \`apt-get install libfuse-dev pkg-config build-essential\`)`;

/**
 * fuse-native's Fuse class, once the binding it loads is proven to be our
 * patched build. Throws an Error saying what to do otherwise. The class it
 * returns takes `mountOptions` (the raw `-o` list) and defaults `timeout` to
 * false. Loading is a synchronous require: call it at startup.
 */
export function loadFuse(): FuseClass {
  if (loaded) return loaded;
  let dir: string;
  try {
    dir = path.dirname(require.resolve('fuse-native/package.json'));
  } catch {
    throw new Error('fuse-native is not installed: run `npm ci`');
  }
  // The same node-gyp-build, and so the same file, that fuse-native's index.js uses.
  const ngb = require(require.resolve('node-gyp-build', { paths: [dir] })) as NodeGypBuild;
  let file: string;
  try {
    file = ngb.resolve(dir);
  } catch (e) {
    throw new Error(`fuse-native has no native binding for this machine (${message(e)}): ${FIX}`);
  }
  let binding: unknown;
  try {
    binding = ngb(dir);
  } catch (e) {
    throw new Error(`the fuse-native binding ${file} does not load (${message(e)}): install libfuse2 (apt-get install libfuse2 fuse) and ${FIX}`);
  }
  const native = binding as { mogfs_patch?: unknown; fuse_native_unmount(mnt: string, thread: unknown): void };
  const patch = native.mogfs_patch;
  if (patch !== MOGFS_PATCH_LEVEL) {
    const what = patch === undefined ? 'the unpatched prebuilt binding' : `a binding with mogfs_patch ${String(patch)}, not ${MOGFS_PATCH_LEVEL}`;
    throw new Error(`fuse-native would load ${what} (${file}): ${FIX}`);
  }
  const Base = require(dir) as new (mnt: string, ops: FuseOps, opts: object) => object;

  class MogFuse extends Base {
    private readonly mountOptions: readonly string[] | null;

    constructor(mnt: string, ops: FuseOps, opts: FuseOptions = {}) {
      const { mountOptions, ...rest } = opts;
      if (Buffer.byteLength(path.resolve(mnt)) > MAX_NATIVE_STRING) throw new Error(`FUSE mount point path is longer than ${MAX_NATIVE_STRING} bytes: ${mnt}`);
      super(mnt, ops, { ...rest, timeout: opts.timeout ?? false });
      this.mountOptions = mountOptions ? checkMountOptions(mountOptions) : null;
    }

    // fuse-native runs `fusermount -uz ${JSON.stringify(mnt)}` through a shell,
    // where `$(...)` in a path would run; execFile takes the path as it is.
    static unmount(mnt: string, cb: (err: Error | null) => void): void {
      execFile('fusermount', ['-u', '-z', mnt], (err) => cb(err ?? null));
    }

    // fuse-native's _close with the unmount above (its own calls the shell one).
    _close(cb: (err: Error | null) => void): void {
      const self = this as unknown as { mnt: string; _thread: unknown };
      MogFuse.unmount(self.mnt, (err) => {
        if (err) return cb(Object.assign(err, { unmountFailure: true }));
        try {
          native.fuse_native_unmount(self.mnt, self._thread);
        } catch (e) {
          return cb(e instanceof Error ? e : new Error(String(e)));
        }
        cb(null);
      });
    }

    // fuse-native answers fgetattr (fstat of an open file) with ops.getattr(path);
    // a file unlinked while open (hard_remove) has no path, so ops.fgetattr(path, fd)
    // answers instead when there is one. _op_getattr only reads this.ops.getattr,
    // so it runs on a stand-in that routes to fgetattr, to reuse its stat encoding.
    _op_fgetattr(signal: unknown, p: string, fd: number): void {
      const ops = (this as unknown as { ops: FuseOps }).ops;
      const base = Base.prototype as unknown as { _op_getattr(this: object, signal: unknown, path: string): void };
      const fgetattr = ops.fgetattr;
      if (!fgetattr) return base._op_getattr.call(this, signal, p);
      const getattr = (q: string, cb: (err: number, st?: FuseStat) => void): void => fgetattr(q, fd, cb);
      base._op_getattr.call({ ops: { getattr } }, signal, p);
    }

    // Replaces fuse-native's option builder, which knows a fixed set of options.
    _fuseOptions(): string {
      if (!this.mountOptions) {
        return (Base.prototype as unknown as { _fuseOptions(this: object): string })._fuseOptions.call(this);
      }
      return this.mountOptions.length ? `-o${this.mountOptions.join(',')}` : '';
    }
  }

  loaded = MogFuse as unknown as FuseClass;
  return loaded;
}

function checkMountOptions(opts: readonly string[]): readonly string[] {
  for (const o of opts) {
    if (o === '' || o.includes(',') || o.includes('\0')) throw new Error(`bad FUSE mount option ${JSON.stringify(o)}`);
  }
  const s = `-o${opts.join(',')}`;
  if (Buffer.byteLength(s) > MAX_NATIVE_STRING) throw new Error(`FUSE mount options are ${Buffer.byteLength(s)} bytes; fuse-native takes at most ${MAX_NATIVE_STRING}`);
  return [...opts];
}

async function onPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch { /* not in this dir */ }
  }
  return null;
}

/**
 * null when FUSE can be mounted here; otherwise one line saying why. Checks,
 * in order: Linux, /dev/fuse present, /dev/fuse openable read-write,
 * fusermount on PATH (setuid root when not root), and the patched binding
 * loading (which needs libfuse2).
 */
export async function fuseProblem(): Promise<string | null> {
  if (process.platform !== 'linux') return `FUSE mounts need Linux (this is ${process.platform})`;
  try {
    await access('/dev/fuse', constants.F_OK);
  } catch {
    return '/dev/fuse is missing (load the fuse kernel module, or give the container the device)';
  }
  try {
    const fh = await open('/dev/fuse', 'r+');
    await fh.close();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? message(e);
    return `/dev/fuse cannot be opened read-write (${code}): not permitted here, e.g. a container without the device`;
  }
  const fusermount = await onPath('fusermount');
  if (!fusermount) return 'fusermount is not on PATH (apt-get install fuse)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    const st = await stat(fusermount);
    if (!(st.mode & 0o4000) || st.uid !== 0) return `${fusermount} is not setuid root, so this user cannot mount (reinstall Debian package fuse, or run as root)`;
  }
  try {
    loadFuse();
  } catch (e) {
    return `the patched FUSE binding does not load: ${message(e)}`;
  }
  return null;
}
