/**
 * Enumerating and inspecting files: list_keys, list_fids, file_info,
 * file_debug (Query.pm).
 */
import { mogErr } from './errors';
import { checkDomain, classById, deviceWithHost, fileByKey, getUrl, int, truthy } from './lookup';
import { checksumInfo } from './upload';
import type { Handler, ReplyArgs } from './types';
import { slavesOk } from '../../store';

/** Most keys one list_keys returns, and its default. */
export const LIST_KEYS_MAX = 1000;
/** list_fids: default and most fids per call. */
export const LIST_FIDS_DEFAULT = 100;
export const LIST_FIDS_MAX = 500;

/** Byte-order comparison, as the database orders keys. */
function keyGt(a: string, b: string): boolean {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')) > 0;
}

export const list_keys: Handler = async ({ ctx }, args) => {
  const dom = checkDomain(await ctx.layout(), args);
  const prefix = args.prefix ?? '';
  const after = args.after;
  if (prefix !== '') {
    // The original matches `after` against the prefix as a regex; a plain
    // prefix test is what that means for every real key.
    if (truthy(after) && !after.startsWith(prefix)) throw mogErr('after_mismatch');
    // LIKE wildcards the original cannot escape; refused the same way.
    if (/[%\\]/.test(prefix)) throw mogErr('invalid_chars');
  }
  let limit = int(args.limit);
  if (!(limit > 0) || limit > LIST_KEYS_MAX) limit = LIST_KEYS_MAX;

  const keys = await slavesOk(ctx.store).listKeys(dom.dmid, prefix, truthy(after) ? after : null, limit);
  if (keys.length === 0) throw mogErr('none_match');
  const ret: ReplyArgs = { key_count: keys.length };
  let nextAfter = '';
  keys.forEach((k, i) => {
    ret[`key_${i + 1}`] = k;
    if (keyGt(k, nextAfter)) nextAfter = k;
  });
  ret.next_after = nextAfter;
  return ret;
};

export const list_fids: Handler = async ({ ctx }, args) => {
  const from = int(args.from);
  // `to` is a count since MogileFS 2.50, whatever its name says.
  let count = int(args.to) || LIST_FIDS_DEFAULT;
  if (count > LIST_FIDS_MAX || count < 0) count = LIST_FIDS_MAX;
  const rows = await ctx.store.listFids(from, count);
  if (rows.length === 0) return { fid_count: 0 };
  const layout = await ctx.layout();
  const ret: ReplyArgs = {};
  rows.forEach((r, i) => {
    const p = `fid_${i + 1}_`;
    ret[p + 'fid'] = r.fid;
    ret[p + 'domain'] = layout.domains.find((d) => d.dmid === r.dmid)?.namespace ?? null;
    ret[p + 'class'] = classById(layout, r.dmid, r.classid, 2)?.classname ?? null;
    ret[p + 'key'] = r.dkey;
    ret[p + 'length'] = r.length;
    ret[p + 'devcount'] = r.devcount;
  });
  ret.fid_count = rows.length;
  return ret;
};

export const file_info: Handler = async ({ ctx }, args) => {
  const { layout, dom, file } = await fileByKey(ctx, args, slavesOk(ctx.store));
  const cls = classById(layout, file.dmid, file.classid, 2);
  const ret: ReplyArgs = { fid: file.fid, domain: dom.namespace, class: cls?.classname ?? null };
  if (cls?.hashtype) {
    const c = await ctx.store.getChecksum(file.fid);
    ret.checksum = c ? checksumInfo(c) : 'MISSING';
  }
  ret.key = file.dkey;
  ret.length = file.length;
  ret.devcount = file.devcount;
  // Raw devids only when asked; clients that want to read use get_paths.
  if (truthy(args.devices)) ret.devids = (await slavesOk(ctx.store).fileDevids(file.fid)).join(',');
  return ret;
};

export const file_debug: Handler = async ({ ctx }, args) => {
  const layout = await ctx.layout();
  let fid: number;
  let file = null;
  if (truthy(args.fid)) {
    fid = int(args.fid);
    file = await ctx.store.getFile(fid);
  } else {
    const dom = checkDomain(layout, args);
    if (!args.key) throw mogErr('no_key');
    file = await ctx.store.getFileByKey(dom.dmid, args.key);
    if (!file) throw mogErr('unknown_key');
    fid = file.fid;
  }
  const ret: ReplyArgs = {};
  if (file) {
    ret.fid_fid = file.fid;
    ret.fid_dmid = file.dmid;
    ret.fid_dkey = file.dkey;
    ret.fid_length = file.length;
    ret.fid_classid = file.classid;
    ret.fid_devcount = file.devcount;
    ret.fid_domain = layout.domains.find((d) => d.dmid === file.dmid)?.namespace ?? null;
    ret.fid_class = classById(layout, file.dmid, file.classid, 2)?.classname ?? null;
  }
  const temp = await ctx.store.getTempfile(fid);
  if (temp) {
    ret.tempfile_fid = temp.fid;
    ret.tempfile_createtime = temp.createtime;
    ret.tempfile_classid = temp.classid;
    ret.tempfile_dmid = temp.dmid;
    ret.tempfile_dkey = temp.dkey;
    ret.tempfile_devids = temp.devids;
  }
  const devids = await ctx.store.fileDevids(fid);
  for (const devid of devids) {
    const dh = deviceWithHost(layout, devid);
    if (dh) ret[`devpath_${devid}`] = getUrl(dh, fid);
  }
  if (devids.length > 0) ret.devids = devids.join(',');
  const c = await ctx.store.getChecksum(fid);
  ret.checksum = c ? checksumInfo(c) : 'NONE';
  return ret;
};
