/**
 * One "directory level" of a flat key space, S3-style: under `prefix`, the
 * keys with no delimiter after the prefix, and each subtree once as its
 * common prefix (prefix + segment + delimiter). Each subtree costs one index
 * seek past it, so a readdir is O(entries shown), not O(keys below).
 */
import { compareKeys, nextPrefix } from './keys';

export interface DirEntry {
  /** A whole key, or a common prefix ending in the delimiter. */
  key: string;
  isPrefix: boolean;
}

/** Engine primitive: keys of a domain in byte order from `from` (inclusive or not), below `end`, at most `limit`. */
export type ScanKeys = (from: string, inclusive: boolean, end: string | null, limit: number) => Promise<string[]>;

export async function listDirectory(
  scan: ScanKeys, prefix: string, delimiter: string, after: string | null, limit: number,
): Promise<DirEntry[]> {
  if (delimiter === '') throw new Error('listDirectory needs a non-empty delimiter');
  const end = nextPrefix(prefix);
  let from = prefix;
  let inclusive = true;
  if (after !== null && compareKeys(after, prefix) >= 0) {
    const afterCommonPrefix = after.length > prefix.length && after.startsWith(prefix) && after.endsWith(delimiter);
    if (afterCommonPrefix) {
      // Resuming after a common prefix means resuming after its whole subtree.
      const past = nextPrefix(after);
      if (past === null) return [];
      from = past;
    } else {
      from = after;
      inclusive = false;
    }
  }
  const out: DirEntry[] = [];
  // Batch size adapts: one key right after skipping a subtree (the next one may
  // be another subtree, and reading into it would be wasted), doubling while
  // the batches hold only plain keys.
  let size = 16;
  while (out.length < limit) {
    const want = Math.min(limit - out.length, size);
    const batch = await scan(from, inclusive, end, want);
    if (batch.length === 0) break;
    let reseek = false;
    for (const key of batch) {
      const i = key.indexOf(delimiter, prefix.length);
      if (i < 0) {
        out.push({ key, isPrefix: false });
        from = key;
        inclusive = false;
        continue;
      }
      const common = key.slice(0, i + delimiter.length);
      out.push({ key: common, isPrefix: true });
      const past = nextPrefix(common);
      if (past === null) return out; // nothing sorts after this subtree
      from = past;
      inclusive = true;
      reseek = true;
      break;
    }
    if (reseek) size = 1;
    else if (batch.length < want) break;
    else size = Math.min(size * 2, 1000);
  }
  return out;
}
