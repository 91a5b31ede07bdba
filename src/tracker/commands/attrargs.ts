/**
 * Parsing our attribute arguments (mogfs_set_attrs, and create_close's
 * `mogfs_`-prefixed ones): whole numbers in range, a symlink target of at
 * most 4096 bytes.
 */
import type { Args } from '../../protocol';
import type { FileAttrs } from '../../store';
import { mogErr } from './errors';

/** A non-negative whole number argument, or undefined when absent or empty. */
function wholeArg(args: Args, name: string, max: number): number | undefined {
  const v = args[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) > max) {
    throw mogErr('bad_params', `${name} must be a whole number from 0 to ${max}, got "${v}"`);
  }
  return Number(v);
}

/** The attributes named in `args` (each name after `prefix`: create_close sends them as mogfs_mtime_sec, ...). */
export function attrsFromArgs(args: Args, prefix = ''): Partial<FileAttrs> {
  const attrs: Partial<FileAttrs> = {
    mtimeSec: wholeArg(args, `${prefix}mtime_sec`, Number.MAX_SAFE_INTEGER),
    mtimeNsec: wholeArg(args, `${prefix}mtime_nsec`, 999_999_999),
    mode: wholeArg(args, `${prefix}mode`, 0xffffffff),
    uid: wholeArg(args, `${prefix}uid`, 0xffffffff),
    gid: wholeArg(args, `${prefix}gid`, 0xffffffff),
  };
  const link = args[`${prefix}symlink`];
  if (link !== undefined && link !== '') {
    if (Buffer.byteLength(link, 'utf8') > 4096) throw mogErr('bad_params', 'symlink target is longer than 4096 bytes');
    attrs.symlink = link;
  }
  if (attrs.mtimeNsec !== undefined && attrs.mtimeSec === undefined) {
    throw mogErr('bad_params', 'mtime_nsec needs mtime_sec');
  }
  return attrs;
}

/** True when `attrs` sets anything. */
export function hasAttrs(attrs: Partial<FileAttrs>): boolean {
  return Object.values(attrs).some((v) => v !== undefined && v !== null);
}
