// Vfs errors (errno names) as the HTTP statuses WebDAV answers with.
import { errnoOf } from '../vfs';
import type { Errno } from '../vfs';

/** The HTTP status for an error our own methods meet. */
export function statusOf(e: unknown): number {
  return STATUS[errnoOf(e)] ?? 500;
}

const STATUS: Partial<Record<Errno, number>> = {
  ENOENT: 404, ENOTDIR: 409, EEXIST: 405, EISDIR: 405, ENOTEMPTY: 409, ENOSPC: 507, EFBIG: 507,
  EPERM: 403, EACCES: 403, EROFS: 403, EINVAL: 403, ENAMETOOLONG: 414, EXDEV: 502, EBUSY: 423,
  ETIMEDOUT: 504,
};
