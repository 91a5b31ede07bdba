/**
 * Errors the filesystem view raises carry a POSIX errno name (ENOENT, EIO,
 * ...) that FUSE and WebDAV both translate; errors from below (MogError codes,
 * Node's fs errors) are mapped here, once, so both adapters agree.
 */
import { MogError } from '../protocol';

export type Errno =
  | 'ENOENT' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOTEMPTY' | 'EINVAL' | 'EPERM' | 'EACCES' | 'EIO'
  | 'ENOSPC' | 'ENAMETOOLONG' | 'EXDEV' | 'EROFS' | 'EBADF' | 'ENOTSUP' | 'ENODATA' | 'ERANGE' | 'EFBIG'
  | 'EBUSY' | 'ETIMEDOUT' | 'E2BIG';

export class VfsError extends Error {
  constructor(readonly errno: Errno, message: string) {
    super(message);
    this.name = 'VfsError';
  }
}

export function fail(errno: Errno, message: string): never {
  throw new VfsError(errno, message);
}

/** MogileFS error codes a user can meet through the mount, as the errno a local filesystem would give. */
const BY_MOG_CODE: Record<string, Errno> = {
  unknown_key: 'ENOENT',
  none_match: 'ENOENT',
  unreg_domain: 'ENOENT',
  domain_not_found: 'ENOENT',
  key_exists: 'EEXIST',
  domain_exists: 'EEXIST',
  key_too_long: 'ENAMETOOLONG',
  domain_has_files: 'ENOTEMPTY',
  domain_has_classes: 'ENOTEMPTY',
  no_devices: 'ENOSPC',
  unreg_class: 'EINVAL',
  class_not_found: 'EINVAL',
  bad_params: 'EINVAL',
  fid_mismatch: 'EBUSY',
};

const NODE_ERRNOS = new Set<string>([
  'ENOENT', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY', 'EINVAL', 'EPERM', 'EACCES', 'EIO', 'ENOSPC',
  'ENAMETOOLONG', 'EXDEV', 'EROFS', 'EBADF', 'EFBIG', 'EDQUOT',
]);

/** The errno for any error thrown below the view. */
export function errnoOf(e: unknown): Errno {
  if (e instanceof VfsError) return e.errno;
  if (e instanceof MogError) return BY_MOG_CODE[e.code] ?? 'EIO';
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NODE_ERRNOS.has(code)) return code === 'EDQUOT' ? 'ENOSPC' : (code as Errno);
  return 'EIO';
}

/** Whether `e` is the MogileFS error `code`. */
export function isMog(e: unknown, code: string): boolean {
  return e instanceof MogError && e.code === code;
}
