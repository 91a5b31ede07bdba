/**
 * Our extension commands for the bridge's directory view of a domain
 * (prefixed `mogfs_`, so they never collide with stock ones):
 *
 *   mogfs_list_dir   domain [prefix] [after] [limit] [marker]
 *       One directory level under `prefix` ('/' as the delimiter): files
 *       (`entry_N_type=file`, with row and attributes) and subdirectories
 *       (`entry_N_type=dir`, the common prefix ending in '/'), each subtree
 *       costing one index seek. With `marker=NAME`, the file `<dir>NAME` of
 *       each subdirectory listed is sent too (`entry_N_type=marker`), so a
 *       directory's own attributes come in the same round trip.
 *       -> entry_count, entry_N_*, next_after ('' after the last page)
 *   mogfs_lookup     domain key [marker] [paths] [nodir]
 *       What a path names, in one round trip: the file `key` (file=1 and
 *       its fields as file_*), whether keys exist under `key/` (dir=1), and
 *       with `marker=NAME` the file `key/NAME` (marker=1, fields marker_*).
 *       With `paths=N`, up to N URLs of the file's copies as well (path_count,
 *       path_1.., best first, as get_paths with noverify gives them), so the
 *       gateway serves a short URL with one tracker round trip; `nodir=1`
 *       skips the directory check it does not need.
 *   mogfs_rename     domain from_key to_key [replace]
 *       rename; with replace=1 an existing to_key is replaced atomically.
 *   mogfs_rename_dir domain from_prefix to_prefix
 *       every key under from_prefix moves under to_prefix in one transaction
 *       (key_exists when anything is under to_prefix already) -> count
 */
import { checkKeyLength, checkPrefixRename } from '../../store';
import type { FileWithAttrs } from '../../store';
import { mogErr } from './errors';
import { checkDomain, getUrl, int, truthy } from './lookup';
import { readCandidates } from '../select';
import type { Layout, TrackerContext } from '../context';
import { LIST_KEYS_MAX } from './listing';
import { putFile } from './attrs';
import type { Handler, ReplyArgs } from './types';
import { slavesOk } from '../../store';

export const mogfs_list_dir: Handler = async ({ ctx }, args) => {
  const layout = await ctx.layout();
  const dom = checkDomain(layout, args);
  const prefix = args.prefix ?? '';
  const after = args.after !== undefined && args.after !== '' ? args.after : null;
  const marker = args.marker ?? '';
  if (marker.includes('/')) throw mogErr('bad_params', 'marker must be a single name, without "/"');
  let limit = int(args.limit);
  if (!(limit > 0) || limit > LIST_KEYS_MAX) limit = LIST_KEYS_MAX;

  const reads = slavesOk(ctx.store);
  const entries = await reads.listDirectory(dom.dmid, prefix, '/', after, limit);
  const wanted = entries.filter((e) => !e.isPrefix).map((e) => e.key);
  const markers = marker === '' ? [] : entries.filter((e) => e.isPrefix).map((e) => e.key + marker);
  const rows = await reads.getFilesWithAttrs(dom.dmid, [...wanted, ...markers]);
  const byKey = new Map<string, FileWithAttrs>(rows.map((r) => [r.dkey, r]));

  const out: ReplyArgs = {};
  let n = 0;
  for (const e of entries) {
    if (e.isPrefix) {
      n++;
      out[`entry_${n}_type`] = 'dir';
      out[`entry_${n}_key`] = e.key;
      const m = marker === '' ? undefined : byKey.get(e.key + marker);
      if (m) {
        n++;
        out[`entry_${n}_type`] = 'marker';
        putFile(out, `entry_${n}_`, layout, m);
      }
      continue;
    }
    // A key deleted between the scan and the row lookup is left out.
    const f = byKey.get(e.key);
    if (!f) continue;
    n++;
    out[`entry_${n}_type`] = 'file';
    putFile(out, `entry_${n}_`, layout, f);
  }
  out.entry_count = n;
  out.next_after = entries.length === limit ? entries[entries.length - 1].key : '';
  return out;
};

export const mogfs_lookup: Handler = async ({ ctx }, args) => {
  const layout = await ctx.layout();
  const dom = checkDomain(layout, args);
  const key = args.key;
  if (!key) throw mogErr('no_key');
  const marker = args.marker ?? '';
  if (marker.includes('/')) throw mogErr('bad_params', 'marker must be a single name, without "/"');
  const markerKey = `${key}/${marker}`;
  const pathcount = int(args.paths);
  const reads = slavesOk(ctx.store);
  const [rows, below, located] = await Promise.all([
    reads.getFilesWithAttrs(dom.dmid, marker === '' ? [key] : [key, markerKey]),
    truthy(args.nodir) ? Promise.resolve([]) : reads.listKeys(dom.dmid, `${key}/`, null, 1),
    pathcount > 0 ? reads.getFileWithDevids(dom.dmid, key) : Promise.resolve(null),
  ]);
  const out: ReplyArgs = { file: 0, dir: below.length > 0 ? 1 : 0, marker: 0 };
  for (const r of rows) {
    const which = r.dkey === key ? 'file' : 'marker';
    out[which] = 1;
    putFile(out, `${which}_`, layout, r);
    if (which === 'file' && pathcount > 0) {
      // The two queries ran side by side: if the key was replaced between them, ask for this fid's copies.
      const devids = located?.file.fid === r.fid ? located.devids : await reads.fileDevids(r.fid);
      putPaths(out, layout, ctx, r.fid, devids, pathcount);
    }
  }
  return out;
};

/** URLs of a fid's copies, best first, as get_paths with noverify: a copy on a device seen down comes last. */
function putPaths(out: ReplyArgs, layout: Layout, ctx: Pick<TrackerContext, 'observed' | 'utilization'>, fid: number, devids: number[], max: number): void {
  let n = 0;
  for (const c of readCandidates(layout, ctx.observed, devids, Math.random, ctx.utilization)) {
    if (n === max) break;
    out[`path_${++n}`] = getUrl(c.dh, fid);
  }
  out.path_count = n;
}

export const mogfs_rename: Handler = async ({ ctx }, args) => {
  const dom = checkDomain(await ctx.layout(), args);
  const from = args.from_key;
  const to = args.to_key;
  if (!from || !to) throw mogErr('no_key');
  checkKeyLength(to, ctx.store.maxKeyLength);
  const replaced = await ctx.store.renameFile(dom.dmid, from, to, { replace: truthy(args.replace) });
  if (replaced !== null) ctx.wake('delete');
  return { replaced_fid: replaced ?? '' };
};

export const mogfs_rename_dir: Handler = async ({ ctx }, args) => {
  const dom = checkDomain(await ctx.layout(), args);
  const from = args.from_prefix ?? '';
  const to = args.to_prefix ?? '';
  checkPrefixRename(from, to);
  const count = await ctx.store.renamePrefix(dom.dmid, from, to);
  return { count };
};

export const commands: Readonly<Record<string, Handler>> = { mogfs_list_dir, mogfs_lookup, mogfs_rename, mogfs_rename_dir };
