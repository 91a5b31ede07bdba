/**
 * Storing a file: create_open picks destination devices and registers a
 * tempfile row; the client PUTs to a returned path; create_close checks the
 * upload (size by HEAD, checksum when asked) and makes the key point at the
 * new fid, queueing it for replication and any replaced fid for deletion.
 */
import { isMogError } from '../../protocol';
import { checkKeyLength } from '../../store';
import type { Checksum } from '../../store';
import { fileMd5, fileSize, md5TimeoutMs } from '../httpfile';
import { newFileCandidates, pickDestinations } from '../select';
import { mogErr } from './errors';
import { attrsFromArgs, hasAttrs } from './attrargs';
import { checkDomain, classById, classByName, deviceWithHost, HASHTYPE_BY_NAME, HASHTYPE_NAME, int, putUrl, truthy } from './lookup';
import { unixNow } from '../../common/time';
import type { Handler, ReplyArgs } from './types';


export const create_open: Handler = async (env, args) => {
  const { ctx } = env;
  const layout = await ctx.layout();
  const dom = checkDomain(layout, args);
  const key = args.key || '';
  checkKeyLength(key, ctx.store.maxKeyLength);
  const multi = truthy(args.multi_dest);
  const wantFid = truthy(args.fid) ? int(args.fid) : undefined;

  let classid = 0;
  if (args.class) {
    const cls = classByName(layout, dom.dmid, args.class, 2);
    if (!cls) throw mogErr('unreg_class');
    classid = cls.classid;
  }

  await env.waitForMonitor();
  const dests = pickDestinations(newFileCandidates(layout, ctx.observed, ctx.config.minFreeMb), multi ? 3 : 1);
  if (dests.length === 0) throw mogErr('no_devices');

  let fid: number;
  const row = { dmid: dom.dmid, dkey: key, classid, devids: dests.map((d) => d.device.devid).join(','), createtime: unixNow() };
  try {
    fid = await ctx.store.createTempfile({ fid: wantFid && wantFid > 0 ? wantFid : undefined, ...row });
  } catch (err) {
    if (isMogError(err, 'fid_in_use') || isMogError(err, 'dup')) throw mogErr('fid_in_use');
    throw err;
  }
  ctx.uploads.remember({ fid, ...row });

  // Directories first, so the client's PUT lands (stock mogstored needs them).
  await Promise.all(dests.map((d) => env.dirs.vivify(`http://${d.host.hostip}:${d.host.http_port}`, d.device.devid, fid)));

  const altZone = args.zone === 'alt';
  const ret: ReplyArgs = { fid };
  if (multi) {
    dests.forEach((d, i) => {
      ret[`devid_${i + 1}`] = d.device.devid;
      ret[`path_${i + 1}`] = putUrl(d, fid, altZone);
    });
    ret.dev_count = dests.length;
  } else {
    ret.devid = dests[0].device.devid;
    ret.path = putUrl(dests[0], fid, altZone);
  }
  return ret;
};

/** `MD5:hex` as clients send it (MogileFS::Checksum->from_string). */
function parseChecksum(s: string): Checksum {
  const m = /^(\w+):([0-9a-fA-F]+)$/.exec(s);
  const hashtype = m ? HASHTYPE_BY_NAME[m[1].toUpperCase()] : undefined;
  if (!m || !hashtype || m[2].length !== 32) {
    throw mogErr('invalid_checksum_format', `checksum "${s}" is not in the form MD5:<32 hex digits>`);
  }
  return { hashtype, checksum: Buffer.from(m[2], 'hex') };
}

export function checksumInfo(c: Checksum): string {
  return `${HASHTYPE_NAME[c.hashtype] ?? 'UNKNOWN'}:${c.checksum.toString('hex')}`;
}

export const create_close: Handler = async ({ ctx }, args) => {
  const layout = await ctx.layout();
  const dom = checkDomain(layout, args);
  const key = args.key;
  if (!truthy(args.fid)) throw mogErr('no_fid');
  if (!truthy(args.devid)) throw mogErr('no_devid');
  if (!truthy(args.path)) throw mogErr('no_path');
  const fid = int(args.fid);
  const devid = int(args.devid);
  const path = args.path;
  const checksum = truthy(args.checksum) ? parseChecksum(args.checksum) : undefined;
  // Our extension: the new file's attributes, stored in the same transaction (a stock tracker ignores them).
  const attrs = ctx.config.extensions ? attrsFromArgs(args, 'mogfs_') : {};
  const extensionAttrs = hasAttrs(attrs) ? attrs : undefined;

  // The path must be the one create_open gave for this fid and device.
  const dh = deviceWithHost(layout, devid);
  if (!dh || (path !== putUrl(dh, fid) && path !== putUrl(dh, fid, true))) throw mogErr('bogus_args');

  // The row as create_open wrote it, if it was this tracker (a hint: see uploads.ts), else the database's.
  const known = ctx.uploads.take(fid);
  const trow = known ?? (await ctx.store.getTempfile(fid));
  if (!trow) throw mogErr('no_temp_file');
  // The original trusts the request's domain here, so an upload opened in one
  // domain could be closed into another, keeping the first one's class. A
  // refusal changes nothing: the right close can still follow.
  if (trow.dmid !== dom.dmid) {
    const opened = layout.domains.find((d) => d.dmid === trow.dmid)?.namespace ?? `dmid ${trow.dmid}`;
    throw mogErr('domain_mismatch', `fid ${fid} was opened in domain "${opened}", not "${dom.namespace}"; close it in the domain create_open named`);
  }

  // A failed close must not leave the upload behind: record where it went and
  // queue the fid for deletion, so the delete worker removes the bytes.
  const abandon = async (): Promise<void> => {
    // Only an open upload is abandoned: a remembered row may have been closed elsewhere since, and the fid be a file now.
    if (known && !(await ctx.store.getTempfile(fid))) throw mogErr('no_temp_file');
    await ctx.store.addFileOn(fid, devid);
    await ctx.store.deleteFile(fid);
    ctx.wake('delete');
  };

  const allowed = (trow.devids ?? '').split(',').map((s) => Number(s.trim()));
  if (!allowed.includes(devid)) {
    await abandon();
    throw mogErr('invalid_destdev', `File uploaded to invalid dest ${devid}. Valid devices were: ${trow.devids ?? ''}`);
  }
  // Closing without a key means "never mind": the upload is discarded.
  if (key === undefined || key === '') {
    await abandon();
    return {};
  }
  try {
    checkKeyLength(key, ctx.store.maxKeyLength);
  } catch (err) {
    await abandon();
    throw err;
  }

  const expected = truthy(args.size) ? int(args.size) : -1;
  const head = await fileSize(path, ctx.config.nodeTimeoutMs, ctx.observed.get(devid)?.sidechannelPort);
  if (!head.ok) {
    await abandon();
    const type = head.missing ? 'missing' : 'cantreach';
    throw mogErr('size_verify_error', `Expected: ${expected}; actual: 0 (${type}); path: ${path}; error: ${head.error}`);
  }
  if (expected > -1 && expected !== head.size) {
    await abandon();
    throw mogErr('size_mismatch', `Expected: ${expected}; actual: ${head.size}; path: ${path}`);
  }

  // Checksums are verified only when the client asks (it costs a full read),
  // but always then, whatever the class says.
  if (checksum && truthy(args.checksumverify)) {
    // The node computes it over its side channel where it can (no bytes sent), else we read it over HTTP.
    const got = await fileMd5(path, md5TimeoutMs(ctx.config.nodeTimeoutMs, head.size), ctx.observed.get(devid)?.sidechannelPort);
    if ('error' in got || !got.digest.equals(checksum.checksum)) {
      await abandon();
      const actual = 'error' in got ? `unreadable (${got.error})` : `MD5:${got.digest.toString('hex')}`;
      throw mogErr('checksum_mismatch', `Expected: ${checksumInfo(checksum)}; actual: ${actual}; path: ${path}`);
    }
  }
  // The checksum is kept only for classes that store one (Checksum->maybe_save).
  const cls = classById(layout, trow.dmid, trow.classid, 2);
  const keepChecksum = checksum && cls?.hashtype && cls.hashtype === checksum.hashtype ? checksum : undefined;

  // When our replicator has a free slot, the job is claimed in the commit
  // and handed to it (no claim query, no reading the file back).
  const lease = ctx.replicator.reserve();
  let replacedFid: number | null;
  try {
    ({ replacedFid } = await ctx.store.commitFile({
      fid,
      dmid: dom.dmid,
      dkey: key,
      length: head.size,
      classid: trow.classid,
      devids: [devid],
      checksum: keepChecksum,
      attrs: extensionAttrs,
      // Queued in the same transaction. No second enqueue after it (e.g. to
      // record fromdevid): by then another tracker may have claimed the job,
      // and the upsert would make it due again, so two trackers would copy it.
      // The only copy is on `devid` anyway, so the replicator reads from there.
      replicateNexttry: 0,
      replicateLeaseEnd: lease ?? undefined,
    }));
  } catch (err) {
    if (lease !== null) ctx.replicator.cancel();
    throw err;
  }
  if (lease !== null) {
    ctx.replicator.take(
      // nexttry is the job's due time before the claim (now): a closing pump hands it back due at once.
      { fid, nexttry: 0, fromdevid: null, failcount: 0, flags: 0 },
      {
        file: { fid, dmid: dom.dmid, dkey: key, length: head.size, classid: trow.classid, devcount: 1 },
        devids: [devid],
        checksum: keepChecksum ?? null,
      },
    );
  } else {
    ctx.wake('replicate');
  }
  if (replacedFid !== null) ctx.wake('delete');
  return {};
};
