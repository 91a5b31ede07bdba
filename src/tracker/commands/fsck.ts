/**
 * fsck_start, fsck_stop, fsck_reset, fsck_clearlog, fsck_getlog and
 * fsck_status, as the original's Query.pm answers them. They only change
 * server_settings (fsck_host and the fsck_* keys), the queue and the log;
 * the walk itself is the fsck worker's (workers/fsck.ts), on whichever
 * trackers share the database.
 */
import { FSCK_KEYS } from '../../store';
import { unixNow } from '../../common/time';
import { fsckHostname } from '../workers/fsck';
import { mogErr } from './errors';
import { int, truthy } from './lookup';
import type { Handler, ReplyArgs } from './types';
import type { TrackerContext } from '../context';

/** Rows per fsck_getlog, as the original. */
const GETLOG_ROWS = 100;

const n = (v: string | undefined): number => Number(v ?? 0) || 0;

/**
 * _do_fsck_reset: the settings of a fresh walk up to the fid that is highest
 * now, for the caller to write with its own; the last walk's queue is dropped.
 */
async function freshWalk(ctx: TrackerContext): Promise<Record<string, string | null>> {
  const [end, logid] = await Promise.all([ctx.store.fsck.maxFid(), ctx.store.fsck.maxLogid()]);
  await ctx.store.fsck.clearQueue();
  return {
    [FSCK_KEYS.startTime]: null,
    [FSCK_KEYS.stopTime]: null,
    [FSCK_KEYS.fidsChecked]: '0',
    [FSCK_KEYS.end]: String(end),
    [FSCK_KEYS.startMaxLogid]: String(logid),
  };
}

export const fsck_start: Handler = async ({ ctx }) => {
  const s = await ctx.store.getSettings();
  if (s[FSCK_KEYS.host]) throw mogErr('fsck_running', 'fsck is already running');
  if (s.rebal_host) throw mogErr('rebal_running', 'rebalance running; cannot run fsck at same time');
  // A finished walk (or none yet) starts over; a stopped one carries on where it was.
  const checked = n(s[FSCK_KEYS.highest]);
  const end = n(s[FSCK_KEYS.end]);
  const fresh = (checked > 0 && end > 0 && checked >= end) || (end === 0 && checked === 0);
  await ctx.store.fsck.updateSettings({
    ...(fresh ? { ...(await freshWalk(ctx)), [FSCK_KEYS.highest]: '0' } : {}),
    [FSCK_KEYS.startTime]: String(unixNow()),
    [FSCK_KEYS.stopTime]: null,
    [FSCK_KEYS.fidsChecked]: '0',
    [FSCK_KEYS.startFid]: String(fresh ? 0 : checked),
    [FSCK_KEYS.host]: fsckHostname(),
  });
  ctx.wake('fsck');
  return {};
};

/** Pauses the walk: no tracker queues or checks more fids until fsck_start. */
export const fsck_stop: Handler = async ({ ctx }) => {
  await ctx.store.fsck.updateSettings({ [FSCK_KEYS.host]: null, [FSCK_KEYS.stopTime]: String(unixNow()) });
  return {};
};

export const fsck_reset: Handler = async ({ ctx }, args) => {
  const startpos = truthy(args.startpos) ? int(args.startpos) : 0;
  await ctx.store.fsck.updateSettings({
    ...(await freshWalk(ctx)),
    [FSCK_KEYS.policyOnly]: truthy(args.policy_only) ? '1' : null,
    [FSCK_KEYS.highest]: String(Math.max(0, startpos)),
  });
  return {};
};

export const fsck_clearlog: Handler = async ({ ctx }) => {
  await ctx.store.fsck.clearLog();
  return {};
};

export const fsck_getlog: Handler = async ({ ctx }, args) => {
  const after = truthy(args.after_logid) ? Math.max(0, int(args.after_logid)) : 0;
  const rows = await ctx.store.fsck.logRows(after, GETLOG_ROWS);
  const ret: ReplyArgs = {};
  rows.forEach((r, i) => {
    const k = `row_${i + 1}_`;
    ret[`${k}logid`] = r.logid;
    ret[`${k}utime`] = r.utime;
    if (r.fid !== null) ret[`${k}fid`] = r.fid;
    ret[`${k}evcode`] = r.evcode;
    if (r.devid !== null) ret[`${k}devid`] = r.devid;
  });
  ret.row_count = rows.length;
  return ret;
};

export const fsck_status: Handler = async ({ ctx }) => {
  const s = await ctx.store.getSettings();
  const [maxLogid, counts] = await Promise.all([
    ctx.store.fsck.maxLogid(),
    ctx.store.fsck.evcodeCounts(n(s[FSCK_KEYS.startMaxLogid])),
  ]);
  const host = s[FSCK_KEYS.host] || '';
  const ret: ReplyArgs = {
    running: host ? 1 : 0,
    host,
    max_fid_checked: n(s[FSCK_KEYS.highest]),
    policy_only: n(s[FSCK_KEYS.policyOnly]),
    end_fid: n(s[FSCK_KEYS.end]),
    start_time: n(s[FSCK_KEYS.startTime]),
    stop_time: n(s[FSCK_KEYS.stopTime]),
    current_time: unixNow(),
    max_logid: maxLogid,
  };
  for (const [ev, count] of Object.entries(counts)) ret[`num_${ev}`] = count;
  return ret;
};

export const fsckCommands: Record<string, Handler> = {
  fsck_start, fsck_stop, fsck_reset, fsck_clearlog, fsck_getlog, fsck_status,
};
