/**
 * Commands on a stored key: delete, rename, updateclass (Query.pm). The
 * bytes on the storage nodes are removed later by the delete worker, from
 * the queue row store.deleteFile writes.
 */
import { isMogError } from '../../protocol';
import { mogErr } from './errors';
import { checkDomain, classByName } from './lookup';
import { checkKeyLength } from '../../store';
import type { Handler } from './types';

export const delete_: Handler = async ({ ctx }, args) => {
  const dom = checkDomain(await ctx.layout(), args);
  if (!args.key) throw mogErr('no_key');
  // The lookup and the delete are one transaction (one round trip on MySQL).
  if ((await ctx.store.deleteFileByKey(dom.dmid, args.key)) === null) throw mogErr('unknown_key');
  ctx.wake('delete');
  return {};
};

export const rename: Handler = async ({ ctx }, args) => {
  const dom = checkDomain(await ctx.layout(), args);
  const from = args.from_key;
  const to = args.to_key;
  if (!from || !to) throw mogErr('no_key');
  checkKeyLength(to, ctx.store.maxKeyLength);
  try {
    await ctx.store.renameFile(dom.dmid, from, to);
  } catch (err) {
    if (isMogError(err, 'unknown_key')) throw mogErr('unknown_key');
    if (isMogError(err, 'key_exists')) throw mogErr('key_exists');
    throw err;
  }
  return {};
};

export const updateclass: Handler = async ({ ctx }, args) => {
  const layout = await ctx.layout();
  const dom = checkDomain(layout, args);
  const key = args.key;
  if (!key) throw mogErr('no_key');
  const classname = args.class;
  if (!classname) throw mogErr('no_class');
  const cls = classByName(layout, dom.dmid, classname, 2);
  if (!cls) throw mogErr('class_not_found');
  const file = await ctx.store.getFileByKey(dom.dmid, key);
  // The original says invalid_key here, not unknown_key.
  if (!file) throw mogErr('invalid_key');
  const devids = await ctx.store.fileDevids(file.fid);
  if (devids.length === 0) throw mogErr('no_devices');
  if (file.classid !== cls.classid) {
    await ctx.store.updateFileClass(file.fid, cls.classid);
    // The new class may want more (or fewer) copies.
    await ctx.store.enqueueReplicate(file.fid, null, 0);
    ctx.wake('replicate');
  }
  return {};
};
