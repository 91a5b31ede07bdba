/**
 * mogadm fsck start|stop|status|reset|clearlog|printlog|taillog: control of
 * the tracker's background file check and a view of its event log.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Args } from '../../protocol';
import { sprintf } from './format';
import { jobCall } from './jobs';
import type { Session } from './session';
import type { TopSpec, VerbInput } from './spec';

function simple(verb: 'start' | 'stop' | 'clearlog', call: (s: Session) => Promise<Args>, done: string) {
  return async (s: Session): Promise<void> => {
    await jobCall(`fsck ${verb}`, () => call(s));
    s.ok(done);
  };
}

async function reset(s: Session, { opts }: VerbInput): Promise<void> {
  const startpos = typeof opts.startpos === 'number' ? opts.startpos : undefined;
  await jobCall('fsck reset', () => s.admin.fsckReset({ policyOnly: opts['policy-only'] === true, startpos }));
  s.ok('fsck reset');
}

function asTime(secs: number): string {
  return secs < 60 ? `${Math.trunc(secs)}s` : `${Math.trunc(secs / 60)}m`;
}

async function status(s: Session): Promise<void> {
  const st = await jobCall('fsck status', () => s.admin.fsckStatus());
  const known = new Set(['current_time', 'max_logid']);
  const get = (k: string): string | undefined => {
    known.add(k);
    return st[k];
  };
  const n = (k: string): number => Number(get(k) ?? 0) || 0;
  const line = (label: string, value: string): void => s.print(sprintf('%11s: %-s\n', label, value));

  s.line();
  const host = get('host');
  line('Running', n('running') ? `Yes (on ${host ?? '?'})` : 'No');
  const checked = n('max_fid_checked');
  const end = n('end_fid');
  const ratio = end ? checked / end : 0;
  line('Status', `${get('max_fid_checked') ?? ''} / ${get('end_fid') ?? ''} (${(100 * ratio).toFixed(2)}%)`);
  const start = n('start_time');
  const elapsed = start ? (n('stop_time') || n('current_time')) - start : 0;
  const perSec = elapsed ? checked / elapsed : 0;
  line('Time', sprintf('%s (%d fids/s; %s remain)', asTime(elapsed), perSec.toFixed(1), asTime(perSec ? (end - checked) / perSec : 0)));
  line('Check Type', n('policy_only') ? 'Repl policy only (skip file checks)' : 'Normal (check policy + files)');

  const unknown = Object.keys(st).filter((k) => !known.has(k)).sort();
  if (unknown.length > 0) {
    s.line();
    for (const k of unknown) line(`[${k}]`, st[k]);
  }
  s.line();
}

interface LogRow {
  logid: number;
  utime: string;
  fid: string;
  evcode: string;
  devid: string;
}

async function logRows(s: Session, what: string, after: number): Promise<LogRow[]> {
  const r = await jobCall(what, () => s.admin.tracker.call('fsck_getlog', { after_logid: after }));
  const rows: LogRow[] = [];
  for (let i = 1; i <= Number(r.row_count ?? 0); i++) {
    const f = (k: string): string => r[`row_${i}_${k}`] ?? '';
    rows.push({ logid: Number(f('logid')), utime: f('utime'), fid: f('fid'), evcode: f('evcode'), devid: f('devid') });
  }
  return rows;
}

/** Print log rows after `start`; at the end, stop (printlog) or wait and poll again (taillog). */
async function dumpLog(s: Session, start: number, follow: boolean): Promise<void> {
  const fmt = '%-20s %5s %13s %10s\n';
  let after = start;
  s.print(sprintf(fmt, 'unixtime', 'event', 'fid', 'devid'));
  for (;;) {
    const rows = await logRows(s, follow ? 'fsck taillog' : 'fsck printlog', after);
    if (rows.length === 0) {
      if (!follow) return;
      await sleep(5000);
      continue;
    }
    for (const r of rows) {
      s.print(sprintf(fmt, r.utime, r.evcode, r.fid, r.devid && r.devid !== '0' ? r.devid : '-'));
      after = r.logid;
    }
  }
}

async function taillog(s: Session): Promise<void> {
  const st = await jobCall('fsck taillog', () => s.admin.fsckStatus());
  await dumpLog(s, Math.max(0, Number(st.max_logid ?? 0) - 20), true);
}

export const fsckCommand: TopSpec = {
  name: 'fsck',
  des: 'Control a background filesystem check operation.',
  verbs: {
    start: { des: 'Start (or resume) background fsck', run: simple('start', (s) => s.admin.fsckStart(), 'fsck started') },
    stop: { des: 'Stop (pause) background fsck', run: simple('stop', (s) => s.admin.fsckStop(), 'fsck stopped') },
    status: { des: 'Show fsck status', run: status },
    reset: {
      des: 'Reset fsck position back to the beginning',
      opts: [
        { name: 'policy-only', type: 'flag', des: "Check repl policy (assumed locations); don't stat storage nodes" },
        { name: 'startpos', type: 'int', des: 'FID to start at.' },
      ],
      run: reset,
    },
    clearlog: { des: 'Clear the fsck log', run: simple('clearlog', (s) => s.admin.fsckClearLog(), 'fsck log cleared') },
    printlog: { des: 'Display the fsck log', run: (s) => dumpLog(s, 0, false) },
    taillog: { des: 'Tail the fsck log', run: taillog },
  },
};
