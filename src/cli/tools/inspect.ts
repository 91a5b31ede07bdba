/**
 * Tools that look without changing: info (mogfileinfo plus our attributes),
 * fileinfo (mogfileinfo's exact layout), ls (keys under a prefix; -l with
 * size, fid, devcount, class, mtime), listkeys (moglistkeys) and listfids
 * (moglistfids).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { allFiles, getAttrs, TrackerClient } from '../../client';
import type { FileAttrs, FileEntry, MogileFS } from '../../client';
import { action, keyArg, loadConfig, requireTrackers, withClient, withClientOptions } from './common';
import type { ClientFlags } from './common';

/** mogfileinfo's layout: "- file: KEY", then "  %8s: %20s" per field, then " - URL" per path. */
async function printFileInfo(mogc: MogileFS, key: string, withAttrs: boolean): Promise<void> {
  const info = await mogc.fileInfo(key);
  const fields: Record<string, string | number> = {
    class: info.class, devcount: info.devcount, domain: info.domain, fid: info.fid, key: info.key, length: info.length,
  };
  if (info.checksum !== undefined) fields.checksum = info.checksum;
  if (withAttrs) {
    const a = (await getAttrs(mogc, key)).attrs;
    if (a.mtimeSec !== undefined) fields.mtime = formatMtime(a);
    if (a.mode !== undefined) fields.mode = `0${a.mode.toString(8)}`;
    if (a.uid !== undefined) fields.uid = a.uid;
    if (a.gid !== undefined) fields.gid = a.gid;
    if (a.symlink !== undefined) fields.symlink = a.symlink;
  }
  const paths = await mogc.getPaths(key, { noverify: true, pathcount: 99 });
  const lines = [`- file: ${key}`];
  for (const name of Object.keys(fields).sort()) lines.push(`  ${name.padStart(8)}: ${String(fields[name]).padStart(20)}`);
  for (const p of paths) lines.push(` - ${p}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** "2024-05-01 12:34:56.123456789" in UTC, or "-" when unknown. */
export function formatMtime(a: FileAttrs): string {
  if (a.mtimeSec === undefined) return '-';
  const iso = new Date(a.mtimeSec * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return a.mtimeNsec ? `${iso}.${String(a.mtimeNsec).padStart(9, '0')}` : iso;
}

function longLine(f: FileEntry, classWidth: number): string {
  const mtime = f.attrs.mtimeSec === undefined ? '-'.padEnd(19) : formatMtime({ mtimeSec: f.attrs.mtimeSec });
  return `${String(f.length).padStart(12)} ${String(f.fid).padStart(10)} ${String(f.devcount).padStart(3)} ` +
    `${f.class.padEnd(classWidth)} ${mtime} ${f.key}`;
}

async function ls(prefixArg: string | undefined, o: ClientFlags & { long?: boolean; key_prefix?: string }): Promise<void> {
  const prefix = prefixArg ?? o.key_prefix ?? '';
  await withClient(o, async (mogc) => {
    // Printed a page at a time, so a huge domain streams instead of piling up in memory.
    let page: string[] = [];
    const flush = (): void => {
      if (page.length) process.stdout.write(`${page.join('\n')}\n`);
      page = [];
    };
    for await (const f of allFiles(mogc, prefix)) {
      page.push(o.long ? longLine(f, 10) : f.key);
      if (page.length >= 1000) flush();
    }
    flush();
  });
}

async function listkeys(o: ClientFlags & { key_prefix?: string }): Promise<void> {
  await withClient(o, async (mogc) => {
    let page: string[] = [];
    for await (const key of mogc.keys(o.key_prefix ?? '')) {
      page.push(key);
      if (page.length >= 1000) {
        process.stdout.write(`${page.join('\n')}\n`);
        page = [];
      }
    }
    if (page.length) process.stdout.write(`${page.join('\n')}\n`);
  });
}

function wholeNumber(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`--${name} must be a whole number, got "${v}"`);
    return Number(v);
  };
}

/** moglistfids: "fid N", then "name value" per field in name order, then a blank line. */
async function listfids(o: ClientFlags & { fromfid?: number; count?: number }): Promise<void> {
  const cfg = await loadConfig(o);
  const tracker = new TrackerClient({ trackers: requireTrackers(cfg) });
  try {
    let from = o.fromfid ?? 0;
    let left = o.count || 100;
    while (left > 0) {
      const r = await tracker.call('list_fids', { from, to: Math.min(left, 500) });
      const n = Number(r.fid_count ?? 0);
      if (n === 0) break;
      const out: string[] = [];
      const rows = [];
      for (let i = 1; i <= n; i++) rows.push({ fid: Number(r[`fid_${i}_fid`]), i });
      rows.sort((a, b) => a.fid - b.fid);
      for (const { fid, i } of rows) {
        out.push(`fid ${fid}`);
        for (const k of ['class', 'devcount', 'domain', 'key', 'length']) out.push(`${k} ${r[`fid_${i}_${k}`] ?? ''}`);
        out.push('');
      }
      process.stdout.write(`${out.join('\n')}\n`);
      from = rows[rows.length - 1].fid;
      left -= n;
    }
  } finally {
    tracker.close();
  }
}

export function registerInspectTools(program: Command): void {
  withClientOptions(
    program
      .command('info')
      .description("a key's fid, class, size, devcount, attributes and paths")
      .argument('[key]', 'key to describe')
      .option('--key <key>', 'key (MogileFS-Utils style)'),
  ).action(action('info', async (key: string | undefined, o: ClientFlags & { key?: string }) => {
    const k = keyArg(key, o.key);
    await withClient(o, (mogc) => printFileInfo(mogc, k, true));
  }));

  withClientOptions(
    program
      .command('fileinfo')
      .alias('mogfileinfo')
      .description("mogfileinfo: a key's file_info and paths")
      .option('--key <key>', 'key to describe'),
  ).action(action('fileinfo', async (o: ClientFlags & { key?: string }) => {
    const k = keyArg(undefined, o.key);
    await withClient(o, (mogc) => printFileInfo(mogc, k, false));
  }));

  withClientOptions(
    program
      .command('ls')
      .description('keys under a prefix; -l adds size, fid, devcount, class and mtime')
      .argument('[prefix]', 'key prefix (default: every key)')
      .option('-l, --long', 'long listing: size fid devcount class mtime key')
      .option('--key_prefix <prefix>', 'key prefix (MogileFS-Utils style)'),
  ).action(action('ls', ls));

  withClientOptions(
    program
      .command('listkeys')
      .alias('moglistkeys')
      .description('moglistkeys: every key starting with --key_prefix, one per line')
      .option('--key_prefix <prefix>', 'key prefix', ''),
  ).action(action('listkeys', listkeys));

  withClientOptions(
    program
      .command('listfids')
      .alias('moglistfids')
      .description('moglistfids: files by fid, after --fromfid, at most --count')
      .option('--fromfid <fid>', 'list fids greater than this', wholeNumber('fromfid'))
      .option('--count <n>', 'how many (default 100)', wholeNumber('count')),
    { domain: false },
  ).action(action('listfids', listfids));
}
