/**
 * A small printf for mogadm's tables: the original lays its output out with
 * Perl printf formats, and keeping those formats word for word is the
 * simplest way to keep the columns where operators expect them.
 * Supports %%, %s, %d and %f with flags `-`, width and precision.
 */
export type FormatArg = string | number | null | undefined;

const SPEC = /%(-?)(\d*)(?:\.(\d+))?([sdf%])/g;

export function sprintf(fmt: string, ...args: FormatArg[]): string {
  let i = 0;
  return fmt.replace(SPEC, (_m, left: string, width: string, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const v = args[i++];
    let s: string;
    if (conv === 's') {
      s = v === null || v === undefined ? '' : String(v);
      if (prec !== undefined) s = s.slice(0, Number(prec));
    } else if (conv === 'd') {
      s = String(Math.trunc(toNumber(v)));
    } else {
      s = toNumber(v).toFixed(prec === undefined ? 6 : Number(prec));
    }
    const w = width === '' ? 0 : Number(width);
    if (s.length >= w) return s;
    return left ? s.padEnd(w) : s.padStart(w);
  });
}

/** Perl's numeric view of a value: undef and non-numbers are 0. */
function toNumber(v: FormatArg): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : 0;
  const n = parseFloat(v ?? '');
  return Number.isFinite(n) ? n : 0;
}

/** Perl's `sort keys` on numeric ids, but in numeric order so host 10 follows host 9. */
export function byNumber(a: number, b: number): number {
  return a - b;
}

/** Byte-wise string order, as Perl's `sort` gives. */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
