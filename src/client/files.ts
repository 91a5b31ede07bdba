/**
 * MogileFS: the file calls of one domain — store (create_open, PUT,
 * create_close), read, get_paths, delete, rename, updateclass, file_info,
 * list_keys — the way MogileFS::Client does them, with errors thrown as
 * MogError instead of returned as undef.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { MogError } from '../protocol';
import type { Args } from '../protocol';
import { TrackerClient } from './tracker';
import type { CallArgs, CallOptions } from './tracker';
import { createAgent } from './http';
import { parseCreateOpen, uploadToDestinations } from './upload';
import type { Destination } from './upload';
import type { UploadSource } from './upload';
import type { FileAttrs } from './attrs';
import { openRead } from './download';
import type { ReadFailure } from './download';
import type {
  MogileFSOptions, StoreOptions, StoreStreamOptions, StoreResult, GetPathsOptions, GetOptions,
  FileInfo, KeyListing, FidInfo, ByteRange,
} from './types';

/** The key an upload opened ahead of need is opened with (create_close gives the real one). */
const OPEN_AHEAD_KEY = '.mogfs-upload';

/** An upload opened ahead of need: see MogileFS.openUpload. */
export interface OpenUpload {
  fid: number;
  dests: Destination[];
  class?: string;
}

/** The tracker's list_keys maximum page. */
const MAX_LIST = 1000;

export class MogileFS {
  readonly domain: string;
  readonly tracker: TrackerClient;
  private readonly dispatcher: Dispatcher;
  private readonly ownsTracker: boolean;
  private readonly ownsDispatcher: boolean;
  private readonly httpTimeoutMs: number;
  private readonly timeoutMs: number;

  constructor(opts: MogileFSOptions) {
    if (!opts.domain) throw new MogError('no_domain', 'a domain is required (e.g. domain: "default")');
    this.domain = opts.domain;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.httpTimeoutMs = opts.httpTimeoutMs ?? 30_000;
    if (opts.tracker) {
      this.tracker = opts.tracker;
      this.ownsTracker = false;
    } else {
      this.tracker = new TrackerClient({ trackers: opts.trackers ?? [], timeoutMs: this.timeoutMs });
      this.ownsTracker = true;
    }
    this.ownsDispatcher = !opts.dispatcher;
    this.dispatcher = opts.dispatcher ?? createAgent(this.httpTimeoutMs);
  }

  storeBuffer(key: string, buf: Buffer, opts: StoreOptions = {}): Promise<StoreResult> {
    return this.store(key, { kind: 'buffer', buf }, opts);
  }

  /** Streams `readable` to a storage node; with `size` unknown it goes chunked and the size is counted. */
  storeStream(key: string, readable: Readable, opts: StoreStreamOptions = {}): Promise<StoreResult> {
    if (opts.size !== undefined && !(Number.isSafeInteger(opts.size) && opts.size >= 0)) {
      throw new MogError('invalid_size', `size must be a whole number of bytes >= 0, got ${opts.size}`);
    }
    // The stream may fail while create_open is under way, before the upload
    // reads it: keep that error for the upload to report instead of crashing.
    readable.on('error', () => undefined);
    return this.store(key, { kind: 'stream', stream: readable, size: opts.size }, opts);
  }

  async storeFile(key: string, path: string, opts: StoreOptions = {}): Promise<StoreResult> {
    const st = await stat(path);
    if (!st.isFile()) throw new MogError('not_a_file', `${path} is not a regular file`);
    return this.store(key, { kind: 'reopen', size: st.size, open: () => createReadStream(path) }, opts);
  }

  /** URLs the file can be read from, best first. */
  async getPaths(key: string, opts: GetPathsOptions = {}): Promise<string[]> {
    const reply = await this.tracker.call('get_paths', {
      domain: this.domain,
      key: requireKey(key),
      noverify: opts.noverify ? 1 : 0,
      zone: opts.zone,
      pathcount: opts.pathcount,
    });
    const n = Number(reply.paths ?? 0);
    const paths: string[] = [];
    for (let i = 1; i <= n; i++) if (reply[`path${i}`]) paths.push(reply[`path${i}`]);
    return paths;
  }

  /**
   * Read a file (or a byte range of it) as a stream, failing over across its
   * replicas. Asks get_paths with noverify unless told otherwise, as Perl's
   * get_file_data does: the reader checks each path itself anyway.
   */
  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const paths = await this.getPaths(key, { ...opts, noverify: opts.noverify ?? true });
    if (paths.length === 0) {
      throw new MogError('no_paths', `key "${key}" has no readable copy right now: check its devices with file_info and mogadm`);
    }
    return openRead(this.dispatcher, paths, opts.range);
  }

  /**
   * Read from paths a caller already has (from getPaths), failing over
   * between them as get() does: a reader that keeps its paths reads the same
   * fid even if the key is replaced meanwhile.
   */
  getFromPaths(paths: string[], range?: ByteRange, opts: { onFailure?: ReadFailure } = {}): Promise<Readable> {
    if (paths.length === 0) throw new MogError('no_paths', 'no paths to read from');
    return openRead(this.dispatcher, paths, range, opts.onFailure);
  }

  async getBuffer(key: string, opts: GetOptions = {}): Promise<Buffer> {
    const stream = await this.get(key, opts);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** Throws MogError('unknown_key') for a key that does not exist (the Perl client ignores that). */
  async delete(key: string): Promise<void> {
    await this.tracker.call('delete', { domain: this.domain, key: requireKey(key) });
  }

  /** Throws MogError('key_exists') if `to` is taken, 'unknown_key' if `from` is missing. */
  async rename(from: string, to: string): Promise<void> {
    await this.tracker.call('rename', { domain: this.domain, from_key: requireKey(from), to_key: requireKey(to) });
  }

  async updateClass(key: string, cls: string): Promise<void> {
    await this.tracker.call('updateclass', { domain: this.domain, key: requireKey(key), class: cls });
  }

  async fileInfo(key: string, opts: { devices?: boolean } = {}): Promise<FileInfo> {
    const r = await this.tracker.call('file_info', { domain: this.domain, key: requireKey(key), devices: opts.devices ? 1 : undefined });
    const info: FileInfo = {
      fid: Number(r.fid),
      domain: r.domain,
      class: r.class,
      key: r.key,
      length: Number(r.length),
      devcount: Number(r.devcount),
    };
    if (r.checksum !== undefined) info.checksum = r.checksum;
    if (r.devids !== undefined) info.devids = r.devids === '' ? [] : r.devids.split(',').map(Number);
    return info;
  }

  /** Everything the tracker knows about a fid (by `fid`, or by `key` in this domain): raw reply fields. */
  fileDebug(what: { fid: number } | { key: string }): Promise<Args> {
    return this.tracker.call('file_debug', 'fid' in what ? { fid: what.fid } : { domain: this.domain, key: what.key });
  }

  /** One page of keys starting with `prefix`, after `after`; an empty page when nothing matches. */
  async listKeys(prefix = '', opts: { after?: string; limit?: number } = {}): Promise<KeyListing> {
    let r: Args;
    try {
      r = await this.tracker.call('list_keys', { domain: this.domain, prefix, after: opts.after, limit: opts.limit });
    } catch (e) {
      if (e instanceof MogError && e.code === 'none_match') return { keys: [], nextAfter: null };
      throw e;
    }
    const n = Number(r.key_count ?? 0);
    const keys: string[] = [];
    for (let i = 1; i <= n; i++) keys.push(r[`key_${i}`] ?? '');
    return { keys, nextAfter: r.next_after || (keys.length ? keys[keys.length - 1] : null) };
  }

  /** Every key starting with `prefix`, in key order, a page at a time. */
  async *keys(prefix = '', opts: { after?: string; pageSize?: number } = {}): AsyncGenerator<string> {
    const limit = Math.min(Math.max(1, opts.pageSize ?? MAX_LIST), MAX_LIST);
    // list_keys refuses '%' and '\' in a prefix (the original matches it with
    // LIKE): such a prefix is listed from its part before them, and filtered.
    const cut = prefix.search(/[%\\]/);
    const scan = cut < 0 ? prefix : prefix.slice(0, cut);
    let after = opts.after;
    for (;;) {
      const page = await this.listKeys(scan, { after, limit });
      for (const k of page.keys) if (k.startsWith(prefix)) yield k;
      if (page.keys.length < limit || page.nextAfter === null) return;
      after = page.nextAfter;
    }
  }

  /** Files by fid: `count` (the wire's `to`, max 500) files with fid > `from`. */
  async listFids(from: number, count = 100): Promise<FidInfo[]> {
    return listFids(this.tracker, from, count);
  }

  /** Close our own connections (a shared tracker client or dispatcher is left open). */
  async close(): Promise<void> {
    if (this.ownsTracker) this.tracker.close();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /**
   * create_open ahead of need: an upload (fid and destinations) that a later
   * store of any key may use (`upload` in StoreOptions), saving it a round
   * trip. create_close names the key, on the original tracker too. Give it
   * back with abandonUpload() when it is not used; the tracker reaps
   * forgotten ones after its tempfile timeout.
   */
  async openUpload(opts: { class?: string } = {}): Promise<OpenUpload> {
    const r = await this.tracker.call('create_open', {
      domain: this.domain, key: OPEN_AHEAD_KEY, class: opts.class, fid: 0, multi_dest: 1,
    });
    return { ...parseCreateOpen(r), class: opts.class };
  }

  async abandonUpload(u: OpenUpload): Promise<void> {
    await this.abandon(u.fid, u.dests[0].devid, u.dests[0].path);
  }

  private async store(key: string, source: UploadSource, opts: StoreOptions): Promise<StoreResult> {
    requireKey(key);
    const size = source.kind === 'buffer' ? source.buf.length : source.size;
    const ahead = opts.upload;
    const { fid, dests } = ahead ?? parseCreateOpen(await this.tracker.call('create_open', {
      domain: this.domain,
      key,
      class: opts.class,
      fid: 0,
      multi_dest: 1,
      size,
    }));
    const md5 = Boolean(opts.checksum || opts.checksumVerify);
    let put;
    try {
      put = await uploadToDestinations(this.dispatcher, dests, source, { timeoutMs: this.httpTimeoutMs, md5 });
    } catch (e) {
      await this.abandon(fid, dests[0].devid, dests[0].path);
      // An upload opened ahead may name devices that have gone since: once more, freshly opened.
      if (ahead && source.kind !== 'stream') return this.store(key, source, { ...opts, upload: undefined });
      throw e;
    }
    const checksum = put.md5 ? `MD5:${put.md5}` : undefined;
    await this.createClose(key, fid, {
      fid,
      devid: put.dest.devid,
      domain: this.domain,
      key,
      path: put.dest.path,
      size: put.size,
      checksum,
      checksumverify: opts.checksumVerify ? 1 : undefined,
      ...attrArgs(opts.attrs),
    }, {
      // The tracker HEADs the upload, or re-reads it all to verify a checksum: then wait at
      // least as long as the tracker gives that read (httpfile.ts md5TimeoutMs), and a bit more.
      timeoutMs: opts.checksumVerify
        ? Math.max(this.timeoutMs, 30_000) + Math.ceil(put.size / 20_000) + 5_000
        : this.timeoutMs,
    });
    return { key, fid, devid: put.dest.devid, path: put.dest.path, size: put.size, checksum };
  }

  /**
   * create_close, sent again (to the next tracker first) when the tracker
   * asked fails mid-request: the tempfile row is in the shared database, so
   * any tracker can finish the store. If the first one did commit before it
   * failed, the retry finds no tempfile row (no_temp_file); the key pointing
   * at our fid then means the store succeeded. Anything else is thrown, and
   * when no retry gets an answer the first failure is what the caller sees.
   */
  private async createClose(key: string, fid: number, args: CallArgs, opts: CallOptions): Promise<void> {
    let cutOff: MogError;
    try {
      await this.tracker.call('create_close', args, opts);
      return;
    } catch (e) {
      if (!isCutOff(e)) throw e;
      cutOff = e;
    }
    for (let i = 0; i < Math.max(1, this.tracker.trackers.length - 1); i++) {
      try {
        await this.tracker.call('create_close', args, opts);
        return;
      } catch (e) {
        if (isCutOff(e) || (e instanceof MogError && e.code === 'no_tracker')) continue;
        if (!(e instanceof MogError) || e.code !== 'no_temp_file') throw e;
        const stored = await this.fileInfo(key).then((f) => f.fid, () => null);
        if (stored === fid) return;
        throw e;
      }
    }
    throw cutOff;
  }

  /**
   * After a failed upload, close the tempfile without a key: the tracker then
   * drops the row and deletes any partial copy at once instead of waiting for
   * the reaper. Best effort: the upload error is what the caller must see.
   */
  private async abandon(fid: number, devid: number, path: string): Promise<void> {
    try {
      await this.tracker.call('create_close', { fid, devid, domain: this.domain, path, key: '' });
    } catch {
      // The reaper removes the tempfile row later; nothing is lost.
    }
  }
}

export async function listFids(tracker: TrackerClient, from: number, count = 100): Promise<FidInfo[]> {
  const r = await tracker.call('list_fids', { from, to: count });
  const n = Number(r.fid_count ?? 0);
  const out: FidInfo[] = [];
  for (let i = 1; i <= n; i++) {
    out.push({
      fid: Number(r[`fid_${i}_fid`]),
      domain: r[`fid_${i}_domain`],
      class: r[`fid_${i}_class`],
      key: r[`fid_${i}_key`],
      length: Number(r[`fid_${i}_length`]),
      devcount: Number(r[`fid_${i}_devcount`]),
    });
  }
  return out;
}

/** create_close's extension arguments for the new file's attributes. */
function attrArgs(given: FileAttrs | (() => FileAttrs) | undefined): CallArgs {
  const a = typeof given === 'function' ? given() : given;
  if (!a) return {};
  return {
    mogfs_mtime_sec: a.mtimeSec,
    mogfs_mtime_nsec: a.mtimeNsec,
    mogfs_mode: a.mode,
    mogfs_uid: a.uid,
    mogfs_gid: a.gid,
    mogfs_symlink: a.symlink,
  };
}

/** The tracker went away (or went quiet) after the request was sent: it may or may not have run. */
function isCutOff(e: unknown): e is MogError {
  return e instanceof MogError && (e.code === 'tracker_io' || e.code === 'tracker_timeout');
}

function requireKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new MogError('no_key', 'a non-empty key is required');
  return key;
}
