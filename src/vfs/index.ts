// A MogileFS domain as a filesystem, for every adapter (FUSE now, WebDAV
// next): keys as paths by the prefix scheme (names.ts), attributes from our
// tables, writes through a local spool. Knows nothing of FUSE or HTTP servers.
import os from 'node:os';
import path from 'node:path';
import { createAgent, MogileFS, MogileFSAdmin, TrackerClient } from '../client';
import type { Logger } from '../common/log';
import { ClusterFs } from './cluster';
import { DomainView } from './domain';
import { DomainFs } from './domainfs';
import { Handles } from './handles';
import { Keyspace } from './keyspace';
import { Space } from './space';
import { Spool, sweepDeadSpools } from './spool';
import type { StatDefaults } from './stat';
import type { Vfs } from './types';

export type { Vfs, DirEntryStat, StatFs, MtimeChange, CreateOptions } from './types';
export { O_ACCMODE, O_RDONLY, O_TRUNC } from './types';
export type { Stat, Timespec } from './stat';
export { S_IFDIR, S_IFLNK, S_IFREG, S_IFMT } from './stat';
export { VfsError, errnoOf } from './errors';
export type { Errno } from './errors';
export { MARKER, encodeSegment, parsePath } from './names';
export { Locator, fileEtag, PATHS_WANTED } from './locate';
export type { Located } from './locate';
export { Keyspace } from './keyspace';

export interface VfsOptions {
  trackers: string[];
  /** One domain; without it, every domain as a top-level directory. */
  domain?: string;
  /** A key prefix inside the domain to show as the root ('photos/' or 'photos'). */
  prefix?: string;
  /** Where files being written are kept until uploaded (default: the OS temp dir). */
  spoolDir?: string;
  /** Most bytes the spool may hold (0: as much as the disk has). */
  spoolLimitBytes?: number;
  /** How long listings and attributes are trusted, ms (default 1000). */
  cacheMs?: number;
  readOnly?: boolean;
  /** Class of new files (default: the domain's default class). */
  defaultClass?: string;
  /** Owner shown for what has none stored (default: this process's). */
  uid?: number;
  gid?: number;
  /** Tracker request timeout, ms. */
  timeoutMs?: number;
  log: Logger;
}

export interface OpenedVfs {
  vfs: Vfs;
  /** Whether the tracker has our extensions (attributes, one-level listings, atomic directory renames). */
  extensions: boolean;
  /** Uploads what is pending and closes every connection. */
  close(): Promise<void>;
}

/** Normalises a --prefix: no leading '/', one trailing '/' (or '' for the whole domain). */
export function normalizeBase(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

export async function openVfs(opts: VfsOptions): Promise<OpenedVfs> {
  const tracker = new TrackerClient({ trackers: opts.trackers, timeoutMs: opts.timeoutMs ?? 10_000 });
  const dispatcher = createAgent(30_000);
  const clients: MogileFS[] = [];
  const keyspaces: Keyspace[] = [];
  let spool: Spool | null = null;
  try {
    const extensions = await Keyspace.probe(tracker);
    if (!opts.spoolDir) {
      await sweepDeadSpools(os.tmpdir(), (dir) => opts.log.warn({ dir }, 'a spool left by a mount that was killed still holds files: look in it for content that was never uploaded'));
    }
    spool = new Spool(opts.spoolDir ?? path.join(os.tmpdir(), `mogfs-spool-${process.pid}`), opts.spoolLimitBytes ?? 0);
    await spool.init();
    const theSpool = spool;
    const now = Date.now();
    const defaults: StatDefaults = {
      uid: opts.uid ?? process.getuid?.() ?? 0,
      gid: opts.gid ?? process.getgid?.() ?? 0,
      fileMode: 0o644,
      dirMode: 0o755,
      time: { sec: Math.floor(now / 1000), nsec: (now % 1000) * 1_000_000 },
    };
    const cacheMs = opts.cacheMs ?? 1000;
    const handles = new Handles();
    const space = new Space(tracker);
    const makeDomain = (domain: string, base: string): DomainFs => {
      const client = new MogileFS({ domain, tracker, dispatcher });
      clients.push(client);
      const keyspace = new Keyspace(client, extensions, opts.log);
      keyspaces.push(keyspace);
      const view = new DomainView({
        keyspace, base, spool: theSpool, defaults, log: opts.log, cacheMs,
        defaultClass: opts.defaultClass, readOnly: opts.readOnly,
      });
      return new DomainFs(view, handles, space, domain, opts.defaultClass);
    };
    let vfs: Vfs;
    if (opts.domain) {
      const admin = new MogileFSAdmin({ tracker });
      if (!(await admin.getDomains()).some((d) => d.name === opts.domain)) {
        throw new Error(`domain "${opts.domain}" does not exist: create it with mogadm domain add ${opts.domain}, or mount without --domain`);
      }
      vfs = makeDomain(opts.domain, normalizeBase(opts.prefix));
    } else {
      if (opts.prefix) throw new Error('--prefix needs --domain');
      vfs = new ClusterFs(new MogileFSAdmin({ tracker }), handles, space, defaults, cacheMs, (d) => makeDomain(d, ''), opts.readOnly === true);
    }
    return {
      vfs,
      extensions,
      close: async () => {
        await vfs.close().catch(() => undefined);
        for (const k of keyspaces) await k.close();
        await theSpool.close();
        for (const c of clients) await c.close();
        tracker.close();
        await dispatcher.close();
      },
    };
  } catch (e) {
    await spool?.close();
    tracker.close();
    await dispatcher.close();
    throw e;
  }
}
