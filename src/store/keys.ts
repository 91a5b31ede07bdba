/**
 * Key helpers both engines share. Keys are compared as UTF-8 bytes (SQLite's
 * BINARY collation, MySQL's VARBINARY), and a prefix listing is the byte range
 * [prefix, nextPrefix(prefix)) so it stays an index range scan.
 */
import { MogError } from '../protocol';

/** Our schema's key capacity, in bytes; a database made by the original holds 255. */
export const OUR_MAX_KEY_LENGTH = 1024;

/** UTF-8 byte order equals code point order, so bytewise comparison is Buffer.compare. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The smallest string greater than every string that starts with `prefix`,
 * or null when there is none (empty prefix, or only U+10FFFF code points).
 * Works on code points: incrementing the last one (skipping the surrogate
 * block) keeps the bound valid UTF-8, which SQLite text needs.
 */
export function nextPrefix(prefix: string): string | null {
  // Lone surrogates cannot be stored; normalise them as the store would (U+FFFD).
  const cps = Array.from(Buffer.from(prefix, 'utf8').toString('utf8'), (c) => c.codePointAt(0) as number);
  while (cps.length > 0) {
    const last = cps.pop() as number;
    if (last < 0x10ffff) {
      const next = last === 0xd7ff ? 0xe000 : last + 1;
      cps.push(next);
      return String.fromCodePoint(...cps);
    }
  }
  return null;
}

/** Throws key_too_long when `dkey` does not fit the file table's key column. */
export function checkKeyLength(dkey: string, max: number): void {
  const n = Buffer.byteLength(dkey, 'utf8');
  if (n > max) {
    throw new MogError(
      'key_too_long',
      `key is ${n} bytes but this database holds keys of at most ${max} bytes` +
        (max < OUR_MAX_KEY_LENGTH ? ' (a database made by the original MogileFS); use a shorter key' : '; use a shorter key'),
    );
  }
}

/** A prefix rename must move something somewhere else: not everything, and not into itself. */
export function checkPrefixRename(from: string, to: string): void {
  if (from === '' || to === '') throw new MogError('bad_params', 'a prefix rename needs a non-empty from_prefix and to_prefix');
  if (to.startsWith(from) || from.startsWith(to)) {
    throw new MogError('bad_params', `cannot rename prefix "${from}" to "${to}": one contains the other`);
  }
}

/** Unix seconds now, for methods whose caller gave no time. */
export { unixNow } from '../common/time';

/** Parse tempfile.devids ("1,2,3") into numbers, ignoring junk. */
export function parseDevids(devids: string | null): number[] {
  if (!devids) return [];
  return devids
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}
