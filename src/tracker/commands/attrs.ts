/**
 * Our extension commands (prefixed `mogfs_` so they never collide with stock
 * ones) for the attributes MogileFS has no column for: mtime, mode, uid, gid,
 * symlink target, kept per fid in mogfs_file_attr. A stock client never sends
 * them; our client falls back to defaults when a stock tracker answers
 * unknown_command.
 *
 *   mogfs_set_attrs  domain key [fid] [mtime_sec mtime_nsec mode uid gid symlink] -> fid
 *   mogfs_get_attrs  domain key -> fid length devcount class + the attributes set
 *   mogfs_list_files domain [prefix] [after] [limit] -> file_count, file_N_*, next_after
 */
import type { Args } from '../../protocol';
import type { FileAttrs, FileWithAttrs } from '../../store';
import type { Layout } from '../context';
import { mogErr } from './errors';
import { checkDomain, classById, int, truthy } from './lookup';
import { LIST_KEYS_MAX } from './listing';
import type { Handler, ReplyArgs } from './types';

/** A non-negative whole number argument, or undefined when absent or empty. */
function wholeArg(args: Args, name: string, max: number): number | undefined {
  const v = args[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) > max) {
    throw mogErr('bad_params', `${name} must be a whole number from 0 to ${max}, got "${v}"`);
  }
  return Number(v);
}

function attrsFromArgs(args: Args): Partial<FileAttrs> {
  const attrs: Partial<FileAttrs> = {
    mtimeSec: wholeArg(args, 'mtime_sec', Number.MAX_SAFE_INTEGER),
    mtimeNsec: wholeArg(args, 'mtime_nsec', 999_999_999),
    mode: wholeArg(args, 'mode', 0xffffffff),
    uid: wholeArg(args, 'uid', 0xffffffff),
    gid: wholeArg(args, 'gid', 0xffffffff),
  };
  if (args.symlink !== undefined && args.symlink !== '') {
    if (Buffer.byteLength(args.symlink, 'utf8') > 4096) throw mogErr('bad_params', 'symlink target is longer than 4096 bytes');
    attrs.symlink = args.symlink;
  }
  if (attrs.mtimeNsec !== undefined && attrs.mtimeSec === undefined) {
    throw mogErr('bad_params', 'mtime_nsec needs mtime_sec');
  }
  return attrs;
}

function putAttrs(out: ReplyArgs, prefix: string, a: FileAttrs): void {
  if (a.mtimeSec !== null) {
    out[`${prefix}mtime_sec`] = a.mtimeSec;
    out[`${prefix}mtime_nsec`] = a.mtimeNsec ?? 0;
  }
  if (a.mode !== null) out[`${prefix}mode`] = a.mode;
  if (a.uid !== null) out[`${prefix}uid`] = a.uid;
  if (a.gid !== null) out[`${prefix}gid`] = a.gid;
  if (a.symlink !== null) out[`${prefix}symlink`] = a.symlink;
}

function putFile(out: ReplyArgs, prefix: string, layout: Layout, f: FileWithAttrs): void {
  out[`${prefix}key`] = f.dkey;
  out[`${prefix}fid`] = f.fid;
  out[`${prefix}length`] = f.length;
  out[`${prefix}devcount`] = f.devcount;
  out[`${prefix}class`] = classById(layout, f.dmid, f.classid, 2)?.classname ?? '';
  putAttrs(out, prefix, f.attrs);
}

export const mogfs_set_attrs: Handler = async ({ ctx }, args) => {
  const dom = checkDomain(await ctx.layout(), args);
  const key = args.key;
  if (!key) throw mogErr('no_key');
  const attrs = attrsFromArgs(args);
  const file = await ctx.store.getFileByKey(dom.dmid, key);
  if (!file) throw mogErr('unknown_key');
  // With fid given, only that upload gets the attributes: if the key was
  // replaced meanwhile, the newer file must not inherit them.
  if (truthy(args.fid) && int(args.fid) !== file.fid) {
    throw mogErr('fid_mismatch', `key now names fid ${file.fid}, not ${int(args.fid)}: it was replaced; read it again`);
  }
  if (!(await ctx.store.setFileAttrs(file.fid, attrs))) throw mogErr('unknown_key');
  return { fid: file.fid };
};

export const mogfs_get_attrs: Handler = async ({ ctx }, args) => {
  const layout = await ctx.layout();
  const dom = checkDomain(layout, args);
  const key = args.key;
  if (!key) throw mogErr('no_key');
  const [file] = await ctx.store.getFilesWithAttrs(dom.dmid, [key]);
  if (!file) throw mogErr('unknown_key');
  const out: ReplyArgs = {};
  putFile(out, '', layout, file);
  return out;
};

/**
 * list_keys with each file's row and attributes, so a listing with sizes and
 * times (ls -l, an import deciding what changed) is one request per page
 * instead of one per key. Unlike list_keys, any prefix is allowed (the store
 * scans a byte range; no LIKE pattern), and no match is an empty page.
 */
export const mogfs_list_files: Handler = async ({ ctx }, args) => {
  const layout = await ctx.layout();
  const dom = checkDomain(layout, args);
  const prefix = args.prefix ?? '';
  // Any non-empty key may be the last of a page, "0" included (no Perl truthiness here).
  const after = args.after !== undefined && args.after !== '' ? args.after : null;
  let limit = int(args.limit);
  if (!(limit > 0) || limit > LIST_KEYS_MAX) limit = LIST_KEYS_MAX;
  const keys = await ctx.store.listKeys(dom.dmid, prefix, after, limit);
  const files = await ctx.store.getFilesWithAttrs(dom.dmid, keys);
  const out: ReplyArgs = { file_count: files.length };
  files.forEach((f, i) => putFile(out, `file_${i + 1}_`, layout, f));
  // From the keys scanned, not the files found: a key deleted in between must not end the listing early.
  out.next_after = keys.length === limit ? keys[keys.length - 1] : '';
  return out;
};

export const commands: Readonly<Record<string, Handler>> = { mogfs_set_attrs, mogfs_get_attrs, mogfs_list_files };
