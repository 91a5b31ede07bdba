/**
 * `Range: bytes=...` parsing for GET. One range is served as 206; several
 * ranges or a header we cannot parse are ignored (RFC 9110 allows a server
 * to answer 200 with the whole file); a syntactically valid range that does
 * not overlap the file is 416.
 */
export type RangeResult =
  | { kind: 'none' }
  | { kind: 'unsatisfiable' }
  | { kind: 'range'; start: number; end: number };

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: 'none' };
  const spec = m[1].trim();
  if (spec.includes(',')) return { kind: 'none' };
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
  if (!r || (r[1] === '' && r[2] === '')) return { kind: 'none' };
  if (r[1] === '') {
    // Suffix range: the last N bytes.
    const n = Number(r[2]);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(r[1]);
  if (r[2] !== '') {
    const last = Number(r[2]);
    if (last < start) return { kind: 'none' };
    if (start >= size) return { kind: 'unsatisfiable' };
    return { kind: 'range', start, end: Math.min(last, size - 1) };
  }
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: size - 1 };
}
