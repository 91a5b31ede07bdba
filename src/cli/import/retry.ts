/**
 * Retry of one file's transfer: network trouble and busy devices pass, so a
 * failed attempt is tried again after a short pause; errors no retry can fix
 * (bad key, unknown class, missing local file) fail at once.
 */
import { MogError } from '../../client';

/** Tracker answers that will be the same on every attempt. */
const PERMANENT = new Set([
  'unreg_domain', 'unreg_class', 'no_domain', 'no_key', 'key_too_long', 'bad_params', 'invalid_size', 'not_a_file', 'unknown_key',
]);
const LOCAL_PERMANENT = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EPERM']);

export function isPermanent(e: unknown): boolean {
  if (e instanceof MogError) return PERMANENT.has(e.code);
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && LOCAL_PERMANENT.has(code);
}

export async function retrying<T>(attempts: number, fn: () => Promise<T>, pauseMs = 300): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || isPermanent(e)) throw e;
      await new Promise((r) => setTimeout(r, pauseMs * 2 ** (i - 1)));
    }
  }
}
