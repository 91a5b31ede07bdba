/**
 * The calls the bridge makes to see a domain as a tree: one directory level
 * with attributes, atomic renames of a key (replacing the target) and of a
 * whole prefix, and extended attributes. Each uses our tracker's `mogfs_*`
 * commands; the `...Stock` variants do what a stock tracker allows, with the
 * differences their comments give.
 */
import { MogError } from '../protocol';
import type { MogileFS } from './files';
import { entryFrom, isUnknownCommand } from './attrs';
import type { FileEntry } from './attrs';

export type DirListEntry =
  | { type: 'file'; file: FileEntry }
  /** A subdirectory: `key` is the common prefix, ending in '/'. */
  | { type: 'dir'; key: string }
  /** The marker file of the subdirectory listed just before it (when a marker name was given). */
  | { type: 'marker'; file: FileEntry };

export interface DirListing {
  entries: DirListEntry[];
  /** Pass as `after` for the next page; null at the end. */
  nextAfter: string | null;
}

/**
 * One directory level under `prefix` ('/' the delimiter), with each file's
 * row and attributes. MogError unknown_command from a stock tracker.
 */
export async function listDir(
  mogc: MogileFS, prefix: string, opts: { after?: string; limit?: number; marker?: string } = {},
): Promise<DirListing> {
  const r = await mogc.tracker.call(
    'mogfs_list_dir',
    { domain: mogc.domain, prefix, after: opts.after, limit: opts.limit, marker: opts.marker },
    { idempotent: true },
  );
  const n = Number(r.entry_count ?? 0);
  const entries: DirListEntry[] = [];
  for (let i = 1; i <= n; i++) {
    const p = `entry_${i}_`;
    const type = r[`${p}type`];
    if (type === 'dir') entries.push({ type: 'dir', key: r[`${p}key`] ?? '' });
    else if (type === 'marker') entries.push({ type: 'marker', file: entryFrom(r, p) });
    else entries.push({ type: 'file', file: entryFrom(r, p) });
  }
  return { entries, nextAfter: r.next_after ? r.next_after : null };
}

/** What a key names: a file, a directory (keys below `key/`), and that directory's marker file. */
export interface KeyLookup {
  file: FileEntry | null;
  dir: boolean;
  marker: FileEntry | null;
}

/** One round trip for what `key` names (MogError unknown_command from a stock tracker). */
export async function lookupKey(mogc: MogileFS, key: string, marker?: string): Promise<KeyLookup> {
  const r = await mogc.tracker.call('mogfs_lookup', { domain: mogc.domain, key, marker }, { idempotent: true });
  return {
    file: r.file === '1' ? entryFrom(r, 'file_') : null,
    dir: r.dir === '1',
    marker: r.marker === '1' ? entryFrom(r, 'marker_') : null,
  };
}

/** rename; with `replace`, an existing `to` is replaced in the same transaction (POSIX rename). */
export async function renameKey(mogc: MogileFS, from: string, to: string, opts: { replace?: boolean } = {}): Promise<void> {
  await mogc.tracker.call('mogfs_rename', { domain: mogc.domain, from_key: from, to_key: to, replace: opts.replace ? 1 : undefined });
}

/**
 * renameKey on a stock tracker: its rename refuses an existing target, so
 * with `replace` the target is deleted first. Not atomic: for a moment
 * neither the old target nor the new file is under `to`.
 */
export async function renameKeyStock(mogc: MogileFS, from: string, to: string, opts: { replace?: boolean } = {}): Promise<void> {
  try {
    await mogc.rename(from, to);
    return;
  } catch (e) {
    if (!(opts.replace && e instanceof MogError && e.code === 'key_exists')) throw e;
  }
  await mogc.delete(to).catch((e: unknown) => {
    if (!(e instanceof MogError && e.code === 'unknown_key')) throw e;
  });
  await mogc.rename(from, to);
}

/** Every key under `from` (a prefix ending in '/') moves under `to`, atomically. Resolves to how many. */
export async function renameDir(mogc: MogileFS, from: string, to: string): Promise<number> {
  const r = await mogc.tracker.call('mogfs_rename_dir', { domain: mogc.domain, from_prefix: from, to_prefix: to });
  return Number(r.count ?? 0);
}

/**
 * renameDir on a stock tracker: one rename per key, so it is not atomic and
 * costs a round trip per key; a failure part way leaves the keys renamed so
 * far under `to` (the error says how many).
 */
export async function renameDirStock(mogc: MogileFS, from: string, to: string): Promise<number> {
  for await (const k of mogc.keys(to, { pageSize: 1 })) {
    throw new MogError('key_exists', `keys under "${to}" exist already (${k}); move or delete them first`);
  }
  // Collect first: renaming while paging would move keys out from under the listing.
  const keys: string[] = [];
  for await (const k of mogc.keys(from)) keys.push(k);
  let done = 0;
  for (const k of keys) {
    try {
      await mogc.rename(k, to + k.slice(from.length));
    } catch (e) {
      if (e instanceof MogError && e.code === 'unknown_key') continue; // deleted meanwhile
      const why = e instanceof Error ? e.message : String(e);
      throw new MogError(e instanceof MogError ? e.code : 'rename_failed', `renamed ${done} of ${keys.length} keys from "${from}" to "${to}", then: ${why}`);
    }
    done++;
  }
  return done;
}

/** The extended attributes of the file under `key`; MogError unknown_command from a stock tracker. */
export async function getXattrs(mogc: MogileFS, key: string): Promise<Map<string, Buffer>> {
  const r = await mogc.tracker.call('mogfs_get_xattrs', { domain: mogc.domain, key }, { idempotent: true });
  const out = new Map<string, Buffer>();
  const n = Number(r.xattr_count ?? 0);
  for (let i = 1; i <= n; i++) out.set(r[`xattr_${i}_name`] ?? '', Buffer.from(r[`xattr_${i}_value`] ?? '', 'base64url'));
  return out;
}

/**
 * Sets (or with `value` null removes) one extended attribute of the file
 * under `key`; with `fid`, only if the key still names that upload.
 * Resolves false on a stock tracker, which keeps none.
 */
export async function setXattr(
  mogc: MogileFS, key: string, name: string, value: Buffer | null, opts: { fid?: number } = {},
): Promise<boolean> {
  try {
    await mogc.tracker.call('mogfs_set_xattr', {
      domain: mogc.domain,
      key,
      fid: opts.fid,
      name,
      value: value === null ? undefined : value.toString('base64url'),
      remove: value === null ? 1 : undefined,
    });
    return true;
  } catch (e) {
    if (isUnknownCommand(e)) return false;
    throw e;
  }
}
