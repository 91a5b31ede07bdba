/**
 * fuse-native's callbacks as calls on a Vfs: argument and unit conversions
 * (times in microseconds, negative errno numbers) and nothing else. Every
 * callback answers exactly once and never throws: an exception escaping into
 * fuse-native would kill the process and leave a dead mount.
 */
import type { Logger } from '../common/log';
import { errnoOf, S_IFMT, S_IFREG } from '../vfs';
import type { Stat, StatFs, Vfs } from '../vfs';
import { isUtimeOmit, toUs } from './binding';
import type { FuseClass, FuseErrnoName, FuseOps, FuseStat, FuseStatfs } from './binding';

/** st_blksize: tools size their buffers by it; one FUSE write holds this much with big_writes. */
const BLKSIZE = 131072;

export function fuseStat(s: Stat): FuseStat {
  const t = toUs(s.mtime.sec, s.mtime.nsec);
  return {
    mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: t, mtime: t, ctime: t,
    nlink: s.nlink, blksize: BLKSIZE, blocks: Math.ceil(s.size / 512),
  };
}

function fuseStatfs(s: StatFs): FuseStatfs {
  return {
    bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail,
    files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0, flag: 0, namemax: s.namemax,
  };
}

/** Errors not worth a log line: the normal answers of lookups and xattr probes. */
const QUIET = new Set(['ENOENT', 'ENODATA', 'EEXIST', 'ENOTEMPTY', 'ENOTSUP']);

export function makeOps(vfs: Vfs, Fuse: FuseClass, log: Logger): FuseOps {
  const errno = (op: string, path: string, e: unknown): number => {
    const name = errnoOf(e);
    if (!QUIET.has(name)) log.warn({ op, path, errno: name, err: (e as Error)?.message }, `${op} failed`);
    const key = (name === 'ENOTSUP' ? 'EOPNOTSUPP' : name) as FuseErrnoName;
    return Fuse[key] ?? Fuse.EIO;
  };
  /** Runs an operation and answers its callback once, with 0 or a negative errno. */
  const run = <T>(op: string, path: string, work: () => Promise<T>, done: (err: number, value?: T) => void): void => {
    let p: Promise<T>;
    try {
      p = work();
    } catch (e) {
      done(errno(op, path, e));
      return;
    }
    p.then((v) => done(0, v), (e: unknown) => done(errno(op, path, e)));
  };
  const plain = (cb: (err: number) => void) => (err: number): void => cb(err);

  return {
    getattr: (path, cb) => run('getattr', path, () => vfs.getattr(path), (err, st) => (err ? cb(err) : cb(0, fuseStat(st as Stat)))),
    fgetattr: (path, fd, cb) => run('fgetattr', path, () => vfs.fgetattr(fd), (err, st) => (err ? cb(err) : cb(0, fuseStat(st as Stat)))),
    readdir: (path, cb) => run('readdir', path, () => vfs.readdir(path), (err, list) => {
      if (err || !list) return cb(err);
      cb(0, ['.', '..', ...list.map((e) => e.name)]);
    }),
    statfs: (path, cb) => run('statfs', path, () => vfs.statfs(), (err, s) => (err ? cb(err) : cb(0, fuseStatfs(s as StatFs)))),
    mkdir: (path, mode, cb) => run('mkdir', path, () => vfs.mkdir(path, mode), plain(cb)),
    rmdir: (path, cb) => run('rmdir', path, () => vfs.rmdir(path), plain(cb)),
    unlink: (path, cb) => run('unlink', path, () => vfs.unlink(path), plain(cb)),
    rename: (src, dest, cb) => run('rename', src, () => vfs.rename(src, dest), plain(cb)),
    link: (src, dest, cb) => {
      log.debug({ src, dest }, 'link: hard links are not supported');
      cb(Fuse.EPERM);
    },
    symlink: (target, path, cb) => run('symlink', path, () => vfs.symlink(target, path), plain(cb)),
    readlink: (path, cb) => run('readlink', path, () => vfs.readlink(path), (err, t) => (err ? cb(err) : cb(0, t))),
    chmod: (path, mode, cb) => run('chmod', path, () => vfs.chmod(path, mode), plain(cb)),
    chown: (path, uid, gid, cb) => run('chown', path, () => vfs.chown(path, uid, gid), plain(cb)),
    utimens: (path, _atime, mtime, cb) => run('utimens', path, () => vfs.utimens(path, isUtimeOmit(mtime) ? null : {
      sec: Math.floor(mtime / 1_000_000), nsec: (mtime % 1_000_000) * 1000,
    }), plain(cb)),
    truncate: (path, size, cb) => run('truncate', path, () => vfs.truncate(path, size), plain(cb)),
    ftruncate: (path, fd, size, cb) => run('ftruncate', path, () => vfs.ftruncate(fd, size), plain(cb)),
    create: (path, mode, cb) => run('create', path, () => vfs.create(path, mode), (err, fd) => (err ? cb(err) : cb(0, fd))),
    mknod: (path, mode, _dev, cb) => {
      if ((mode & S_IFMT) !== S_IFREG && (mode & S_IFMT) !== 0) return cb(Fuse.EPERM);
      run('mknod', path, async () => vfs.release(await vfs.create(path, mode)), plain(cb));
    },
    open: (path, flags, cb) => run('open', path, () => vfs.open(path, flags), (err, fd) => (err ? cb(err) : cb(0, fd))),
    read: (path, fd, buf, len, pos, cb) => run('read', path, () => vfs.read(fd, len, pos), (err, data) => {
      if (err || !data) return cb(err);
      cb(data.copy(buf, 0, 0, Math.min(len, data.length)));
    }),
    write: (path, fd, buf, len, pos, cb) => run('write', path, () => vfs.write(fd, buf.subarray(0, len), pos), (err, n) => cb(err || (n as number))),
    flush: (path, fd, cb) => run('flush', path, () => vfs.flush(fd), plain(cb)),
    fsync: (path, _datasync, fd, cb) => run('fsync', path, () => vfs.fsync(fd), plain(cb)),
    release: (path, fd, cb) => run('release', path, () => vfs.release(fd), plain(cb)),
    getxattr: (path, name, _position, cb) => run('getxattr', path, () => vfs.getxattr(path, name), (err, v) => (err ? cb(err) : cb(0, v))),
    listxattr: (path, cb) => run('listxattr', path, () => vfs.listxattr(path), (err, names) => (err ? cb(err) : cb(0, names))),
    setxattr: (path, name, value, _position, flags, cb) => run('setxattr', path, () => vfs.setxattr(path, name, Buffer.from(value), flags), plain(cb)),
    removexattr: (path, name, cb) => run('removexattr', path, () => vfs.removexattr(path, name), plain(cb)),
  };
}
