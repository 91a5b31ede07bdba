/**
 * Tools that change or read one file: upload, fetch, delete, rename — the
 * mogupload, mogfetch, mogdelete and mogrename of MogileFS-Utils, taking
 * their flags (--key, --file, --class, --old_key, --new_key) as well as
 * plain arguments.
 */
import { createWriteStream } from 'node:fs';
import { lstat, rename as fsRename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { setAttrs } from '../../client';
import { action, describeError, keyArg, UsageError, withClient, withClientOptions } from './common';
import type { ClientFlags } from './common';
import { attrsFromStats } from '../import/localfs';

interface UploadFlags extends ClientFlags {
  key?: string;
  file?: string;
  class?: string;
  verbose?: boolean;
  checksum?: boolean;
  checksumVerify?: boolean;
}

async function upload(fileArg: string | undefined, keyPos: string | undefined, o: UploadFlags): Promise<void> {
  if (fileArg !== undefined && o.file !== undefined && fileArg !== o.file) {
    throw new UsageError('give the file once: as an argument or with --file, not both');
  }
  const file = fileArg ?? o.file;
  if (file === undefined) throw new UsageError('a file to upload is required (`-` reads standard input)');
  const key = keyArg(keyPos, o.key);
  await withClient(o, async (mogc, cfg) => {
    const cls = o.class ?? cfg.class;
    // MD5 computed while the bytes stream, sent to create_close; the tracker checks it against the stored copy when asked (which implies the MD5).
    const sums = { checksum: o.checksum === true, checksumVerify: o.checksumVerify === true };
    const said = (r: { checksum?: string }): string => (r.checksum ? `, ${r.checksum}` : '');
    if (file === '-') {
      const r = await mogc.storeStream(key, process.stdin, { class: cls, ...sums });
      if (o.verbose) process.stdout.write(`stored ${key}: fid ${r.fid}, ${r.size} bytes${said(r)}\n`);
      return;
    }
    const st = await lstat(file, { bigint: true });
    if (!st.isFile()) throw new UsageError(`${file} is not a regular file`);
    const r = await mogc.storeFile(key, file, { class: cls, ...sums });
    // Keep the file's time and mode, as the import and the mounted folder do; a stock tracker keeps none.
    await setAttrs(mogc, key, attrsFromStats(st), { fid: r.fid });
    if (o.verbose) process.stdout.write(`stored ${key}: fid ${r.fid}, ${r.size} bytes${said(r)}\n`);
  });
}

interface FetchFlags extends ClientFlags {
  key?: string;
  file?: string;
}

async function fetch(keyPos: string | undefined, fileArg: string | undefined, o: FetchFlags): Promise<void> {
  const key = keyArg(keyPos, o.key);
  if (fileArg !== undefined && o.file !== undefined && fileArg !== o.file) {
    throw new UsageError('give the output file once: as an argument or with --file, not both');
  }
  const file = fileArg ?? o.file ?? '-';
  await withClient(o, async (mogc) => {
    const body = await mogc.get(key);
    if (file === '-') {
      await pipeline(body, process.stdout);
      return;
    }
    // Into a temporary name first, so a failed fetch never leaves a partial file under the real name.
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.mogfs-${process.pid}`);
    try {
      await pipeline(body, createWriteStream(tmp, { flags: 'wx' }));
      await fsRename(tmp, file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  });
}

async function remove(keys: string[], o: ClientFlags & { key?: string }): Promise<void> {
  const all = o.key !== undefined ? [...keys, o.key] : keys;
  if (all.length === 0) throw new UsageError('a key to delete is required');
  await withClient(o, async (mogc) => {
    let failed = 0;
    for (const key of all) {
      try {
        await mogc.delete(key);
      } catch (e) {
        if (all.length === 1) throw e;
        failed++;
        process.stderr.write(`mogfs delete: ${key}: ${describeError(e)}\n`);
      }
    }
    if (failed > 0) throw new Error(`${failed} of ${all.length} keys were not deleted`);
  });
}

async function rename(from: string | undefined, to: string | undefined, o: ClientFlags & { old_key?: string; new_key?: string }): Promise<void> {
  const src = keyArg(from, o.old_key, 'old key');
  const dst = keyArg(to, o.new_key, 'new key');
  await withClient(o, (mogc) => mogc.rename(src, dst));
}

export function registerFileTools(program: Command): void {
  withClientOptions(
    program
      .command('upload')
      .alias('mogupload')
      .description('store a local file (or standard input, `-`) under a key')
      .argument('[file]', 'local file, or - for standard input')
      .argument('[key]', 'key to store it under')
      .option('--file <file>', 'local file (MogileFS-Utils style)')
      .option('--key <key>', 'key (MogileFS-Utils style)')
      .option('--class <class>', "class (default: the domain's default class)")
      .option('--checksum', 'send the MD5 of the bytes (computed while uploading) as checksum=MD5:<hex>; kept by classes with hashtype MD5')
      .option('--checksum-verify', 'also have the tracker check the stored copy against that MD5 before accepting it (implies --checksum)')
      .option('-v, --verbose', 'print the fid and size stored'),
  ).action(action('upload', upload));

  withClientOptions(
    program
      .command('fetch')
      .alias('mogfetch')
      .description('read a key into a local file, or to standard output')
      .argument('[key]', 'key to read')
      .argument('[file]', 'where to write it (default: standard output)')
      .option('--key <key>', 'key (MogileFS-Utils style)')
      .option('--file <file>', 'output file, - for standard output'),
  ).action(action('fetch', fetch));

  withClientOptions(
    program
      .command('delete')
      .alias('mogdelete')
      .description('delete keys')
      .argument('[keys...]', 'keys to delete')
      .option('--key <key>', 'key (MogileFS-Utils style)'),
  ).action(action('delete', remove));

  withClientOptions(
    program
      .command('rename')
      .alias('mogrename')
      .description('rename a key (fails if the new key exists)')
      .argument('[from]', 'current key')
      .argument('[to]', 'new key')
      .option('--old_key <key>', 'current key (MogileFS-Utils style)')
      .option('--new_key <key>', 'new key (MogileFS-Utils style)'),
  ).action(action('rename', rename));
}
