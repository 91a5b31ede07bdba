/**
 * IN and VALUES lists of a few fixed lengths. Every distinct statement text
 * is prepared once per connection (MySQL holds them server-wide, up to
 * max_prepared_stmt_count; SQLite caches them per connection), so a list
 * statement has six texts, not one per length.
 */

/** The lengths lists are padded to; a longer list is split by the caller (see chunks()). */
const LIST_LENGTHS = [1, 4, 16, 64, 256, 1024];
export const MAX_LIST = LIST_LENGTHS[LIST_LENGTHS.length - 1];

/**
 * `items` (1 to MAX_LIST of them) padded to the next of LIST_LENGTHS by
 * repeating the last. Only for lists where a repeat changes nothing: `IN
 * (...)`, and multi-row upserts whose update is idempotent.
 */
export function padList<T>(items: T[]): T[] {
  const n = LIST_LENGTHS.find((l) => l >= items.length);
  if (items.length === 0 || n === undefined) throw new Error(`padList takes 1 to ${MAX_LIST} items, not ${items.length}`);
  return n === items.length ? items : items.concat(Array<T>(n - items.length).fill(items[items.length - 1]));
}

/** `n` copies of `one` ("?", "(?, ?)"), comma-separated: the placeholders of a padded list. */
export function marks(n: number, one = '?'): string {
  return Array<string>(n).fill(one).join(', ');
}

/** `items` in slices of at most `size`. */
export function chunks<T>(items: T[], size = MAX_LIST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
