/**
 * Calls for the tracker's background jobs (fsck, rebalance): a tracker that
 * does not run the job answers ERR, and mogadm says so plainly instead of
 * passing on a bare error code.
 */
import type { Args } from '../../protocol';
import { errstr, fail, failWith, isNotImplemented } from './session';

export async function jobCall(what: string, call: () => Promise<Args>): Promise<Args> {
  try {
    return await call();
  } catch (e) {
    if (isNotImplemented(e)) fail(`mogadm ${what}: not implemented yet by this tracker (${errstr(e)})`);
    failWith('', e);
  }
}
