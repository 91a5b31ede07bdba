/**
 * Reading a file: get_paths (URLs of the copies, best first) and the
 * experimental edit_file (Query.pm).
 */
import { fileSize } from '../httpfile';
import { readCandidates } from '../select';
import { mogErr } from './errors';
import { checkDomain, fileByKey, getUrl, int, truthy } from './lookup';
import { unixNow } from '../../common/time';
import { slavesOk } from '../../store';
import type { Handler, ReplyArgs } from './types';


export const get_paths: Handler = async ({ ctx }, args) => {
  const layout = await ctx.layout();
  const dom = checkDomain(layout, args);
  const key = args.key;
  if (!key) throw mogErr('no_key');
  let pathcount = int(args.pathcount) || 2;
  if (pathcount < 2) pathcount = 2;

  // From a replica when one is configured, as the original (a miss is asked of the master).
  const found = await slavesOk(ctx.store).getFileWithDevids(dom.dmid, key);
  if (!found) throw mogErr('unknown_key');
  const { file, devids } = found;
  const altZone = args.zone === 'alt';
  const noverify = truthy(args.noverify);

  const ret: ReplyArgs = { paths: 0 };
  let n = 0;
  // A copy our monitor sees as down is offered only when nothing else is.
  let backup: string | undefined;
  for (const c of readCandidates(layout, ctx.observed, devids, Math.random, ctx.utilization)) {
    const url = getUrl(c.dh, file.fid, altZone);
    if (c.down) {
      backup ??= url;
      continue;
    }
    // Only the first path is verified, and only when the client asks for it.
    if (n === 0 && !noverify) {
      const head = await fileSize(url, ctx.config.nodeTimeoutMs, ctx.observed.get(c.dh.device.devid)?.sidechannelPort);
      if (!head.ok || head.size !== file.length) continue;
    }
    n++;
    ret[`path${n}`] = url;
    if (n === pathcount) break;
  }
  if (n === 0 && backup) {
    n = 1;
    ret.path1 = backup;
  }
  ret.paths = n;
  return ret;
};

/**
 * edit_file: moves one copy of the file to a new fid on the same device, so
 * the client can MOVE it there, rewrite it and create_close it under the same
 * key. Experimental in the original too.
 */
export const edit_file: Handler = async ({ ctx }, args) => {
  const { layout, dom, file } = await fileByKey(ctx, args);
  const key = file.dkey;
  const devids = await ctx.store.fileDevids(file.fid);
  const first = readCandidates(layout, ctx.observed, devids, Math.random, ctx.utilization).find((c) => !c.down);
  if (!first) throw mogErr('no_devices', 'no readable copy of this file to edit; check the devices holding it');
  const devid = first.dh.device.devid;
  const newFid = await ctx.store.createTempfile({
    dmid: dom.dmid,
    dkey: key,
    classid: file.classid,
    devids: String(devid),
    createtime: unixNow(),
  });
  await ctx.store.removeFileOn(file.fid, devid);
  await ctx.store.addFileOn(newFid, devid);
  return {
    oldpath: getUrl(first.dh, file.fid),
    newpath: getUrl(first.dh, newFid),
    fid: newFid,
    devid,
    class: file.classid,
  };
};
