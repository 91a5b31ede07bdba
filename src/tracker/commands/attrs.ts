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
 *   mogfs_set_xattr  domain key [fid] name (value | remove=1) -> fid
 *   mogfs_get_xattrs domain key -> xattr_count, xattr_N_name, xattr_N_value
 * Extended attribute values travel base64url-encoded (binary-safe, and eurl
 * leaves them as they are). create_close also takes the attributes, prefixed
 * `mogfs_` (mogfs_mtime_sec, ...), and stores them with the new file.
 */
import type { Args } from '../../protocol';
import { XATTR_NAME_MAX, XATTR_SIZE_MAX } from '../../store';
import type { FileAttrs, FileWithAttrs } from '../../store';
import type { Layout } from '../context';
import { mogErr } from './errors';
import { attrsFromArgs } from './attrargs';
import { checkDomain, classById, int, truthy } from './lookup';
import { LIST_KEYS_MAX } from './listing';
import type { Handler, ReplyArgs } from './types';

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

export function putFile(out: ReplyArgs, prefix: string, layout: Layout, f: FileWithAttrs): void {
  out[`${prefix}key`] = f.dkey;
  out[`${prefix}fid`] = f.fid;
  out[`${prefix}length`] = f.length;
  out[`${prefix}devcount`] = f.devcount;
  out[`${prefix}class`] = classById(layout, f.dmid, f.classid, 2)?.classname ?? '';
  putAttrs(out, prefix, f.attrs);
  if (f.xattrCount > 0) out[`${prefix}xattrs`] = f.xattrCount;
}

/**
 * The file a request names. With `fid` given, only that upload may be
 * changed: if the key was replaced meanwhile, the newer file must not
 * inherit what was meant for the old one.
 */
async function fileForUpdate(ctx: Parameters<Handler>[0]['ctx'], args: Args): Promise<{ fid: number }> {
  const dom = checkDomain(await ctx.layout(), args);
  if (!args.key) throw mogErr('no_key');
  const file = await ctx.store.getFileByKey(dom.dmid, args.key);
  if (!file) throw mogErr('unknown_key');
  if (truthy(args.fid) && int(args.fid) !== file.fid) {
    throw mogErr('fid_mismatch', `key now names fid ${file.fid}, not ${int(args.fid)}: it was replaced; read it again`);
  }
  return file;
}

export const mogfs_set_attrs: Handler = async ({ ctx }, args) => {
  const attrs = attrsFromArgs(args);
  const file = await fileForUpdate(ctx, args);
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

export const mogfs_set_xattr: Handler = async ({ ctx }, args) => {
  const name = args.name ?? '';
  if (name === '' || Buffer.byteLength(name, 'utf8') > XATTR_NAME_MAX) {
    throw mogErr('bad_params', `an extended attribute name must be 1 to ${XATTR_NAME_MAX} bytes`);
  }
  let value: Buffer | null = null;
  if (!truthy(args.remove)) {
    const v = args.value ?? '';
    if (!/^[A-Za-z0-9_-]*$/.test(v)) throw mogErr('bad_params', 'value must be base64url-encoded (A-Z a-z 0-9 - _, no padding)');
    value = Buffer.from(v, 'base64url');
    if (value.length > XATTR_SIZE_MAX) throw mogErr('bad_params', `an extended attribute value holds at most ${XATTR_SIZE_MAX} bytes`);
  }
  const file = await fileForUpdate(ctx, args);
  if (!(await ctx.store.setFileXattr(file.fid, name, value))) throw mogErr('unknown_key');
  return { fid: file.fid };
};

export const mogfs_get_xattrs: Handler = async ({ ctx }, args) => {
  const file = await fileForUpdate(ctx, args);
  const xattrs = await ctx.store.getFileXattrs(file.fid);
  if (!xattrs) throw mogErr('unknown_key');
  const out: ReplyArgs = { fid: file.fid, xattr_count: xattrs.size };
  let i = 0;
  for (const [name, value] of xattrs) {
    i++;
    out[`xattr_${i}_name`] = name;
    out[`xattr_${i}_value`] = value.toString('base64url');
  }
  return out;
};

export const commands: Readonly<Record<string, Handler>> = {
  mogfs_set_attrs, mogfs_get_attrs, mogfs_list_files, mogfs_set_xattr, mogfs_get_xattrs,
};
