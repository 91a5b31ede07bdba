/**
 * How keys travel to and from one dkey column. Our VARBINARY column holds
 * the key's UTF-8 bytes. A VARCHAR column of a database the original made
 * holds the key's text in the column's charset, because the original's
 * connection (DBD::mysql, utf8) sends text and the server converts it: on
 * a latin1 column `u/ü.jpg` is 75 2F FC 2E 6A 70 67. We do that conversion
 * here, byte-exact, and refuse a key the column cannot hold instead of
 * letting the server store `?` in its place.
 */
import { MogError } from '../../protocol';
import { nextPrefix } from '../keys';
import type { KeyCodec, Param } from '../sql/conn';
import type { KeyColumn } from './schema';

/**
 * MySQL's latin1 is cp1252 with the five undefined bytes mapped to the C1
 * controls of the same value (strings/ctype-latin1.c); 0x80..0x9F here.
 * Node's TextDecoder treats windows-1252 as ISO-8859-1, so it cannot be used.
 */
const LATIN1_80_9F = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
  0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
];
const LATIN1_TO_CP: number[] = Array.from({ length: 256 }, (_, b) => (b >= 0x80 && b < 0xa0 ? LATIN1_80_9F[b - 0x80] : b));
const CP_TO_LATIN1 = new Map(LATIN1_TO_CP.map((cp, b) => [cp, b]));

/** A charset we convert ourselves: bytes of a key's text, and the text of stored bytes. */
interface Codec {
  /** Every byte string is text in it (so a range bound may be any bytes). */
  anyBytes?: boolean;
  /** The key's bytes, or the first character the charset lacks. */
  encode(key: string): Buffer | { bad: string };
  decode(bytes: Buffer): string;
}

const utf8 = (maxCp: number): Codec => ({
  encode(key) {
    if (maxCp < 0x10ffff) {
      for (const ch of key) if ((ch.codePointAt(0) as number) > maxCp) return { bad: ch };
    }
    return Buffer.from(key, 'utf8');
  },
  decode: (bytes) => bytes.toString('utf8'),
});

const CODECS: Record<string, Codec> = {
  utf8mb4: utf8(0x10ffff),
  // utf8 is utf8mb3 on every server that has a 3-byte utf8: the Basic Multilingual Plane only.
  utf8mb3: utf8(0xffff),
  utf8: utf8(0xffff),
  ascii: {
    encode(key) {
      for (const ch of key) if ((ch.codePointAt(0) as number) > 0x7f) return { bad: ch };
      return Buffer.from(key, 'latin1');
    },
    decode: (bytes) => bytes.toString('latin1'),
  },
  latin1: {
    anyBytes: true,
    encode(key) {
      const out: number[] = [];
      for (const ch of key) {
        const b = CP_TO_LATIN1.get(ch.codePointAt(0) as number);
        if (b === undefined) return { bad: ch };
        out.push(b);
      }
      return Buffer.from(out);
    },
    decode: (bytes) => String.fromCodePoint(...Array.from(bytes, (b) => LATIN1_TO_CP[b])),
  },
};

/** Binds and reads keys for one dkey column. */
export class KeySql implements KeyCodec {
  /** SQL for a key parameter. */
  readonly param: string;
  /** Whether the column orders and compares keys bytewise (VARBINARY, or a *_bin collation). */
  readonly bytewise: boolean;
  private readonly codec: Codec | null;

  constructor(readonly col: KeyColumn) {
    const cs = col.charset;
    if (cs !== null && !/^\w+$/.test(cs)) throw new Error(`unexpected dkey charset ${cs}`);
    this.codec = cs === null ? CODECS.utf8mb4 : CODECS[cs.toLowerCase()] ?? null;
    // Ours and the charsets above: the key's bytes in the column's charset, taken as they are.
    // Any other charset: the key as text (connection charset utf8mb4), converted by the server.
    this.param = cs === null ? '?' : `CONVERT(? USING ${cs})`;
    this.bytewise = cs === null || /_bin$/i.test(col.collation ?? '');
  }

  /** SQL reading the column `expr` (dkey, f.dkey) as something read() turns into the key. */
  select(expr: string): string {
    return this.codec ? `CAST(${expr} AS BINARY)` : `CONVERT(${expr} USING utf8mb4)`;
  }

  /** The parameter for `key`; MogError key_charset when the column's charset cannot hold it. */
  bind(key: string): Buffer | string {
    if (this.codec) {
      const b = this.codec.encode(key);
      if (Buffer.isBuffer(b)) return b;
      throw this.cannotHold(b.bad);
    }
    // A charset we do not convert ourselves: ASCII is the same in all of them; more we cannot check here.
    const bad = /[^\x00-\x7f]/u.exec(key);
    if (bad) throw this.cannotHold(bad[0]);
    return key;
  }

  /** Like bind(), but null for a key the column cannot hold (so no row has it). */
  tryBind(key: string): Buffer | string | null {
    try {
      return this.bind(key);
    } catch (e) {
      if (e instanceof MogError) return null;
      throw e;
    }
  }

  /**
   * The condition "dkey starts with prefix" (prefix not empty), as an index
   * range; null when no key can (the column cannot hold the prefix). A
   * bytewise column takes [prefix, next) with the bound computed on the
   * column's bytes, so it is valid whatever the charset holds; a column with
   * a case-insensitive collation (the original's latin1_swedish_ci) orders
   * keys by that collation, so it takes LIKE, as the original's list_keys does:
   * the same case-insensitive matches as the original.
   */
  startsWith(expr: string, prefix: string): { sql: string; params: Param[] } | null {
    const lo = this.tryBind(prefix);
    if (lo === null) return null;
    const hi = this.bytewise ? this.rangeEnd(lo, prefix) : undefined;
    if (hi === undefined) {
      const like = this.tryBind(prefix.replace(/[!%_]/g, '!$&') + '%') as Param;
      return { sql: `${expr} LIKE ${this.param} ESCAPE '!'`, params: [like] };
    }
    return hi === null
      ? { sql: `${expr} >= ${this.param}`, params: [lo] }
      : { sql: `${expr} >= ${this.param} AND ${expr} < ${this.param}`, params: [lo, hi] };
  }

  /** The smallest value above every key that starts with the prefix bound as `lo`: null when none, undefined when not bindable. */
  private rangeEnd(lo: Buffer | string, prefix: string): Buffer | string | null | undefined {
    if (Buffer.isBuffer(lo) && (this.col.charset === null || this.codec?.anyBytes)) {
      let n = lo.length;
      while (n > 0 && lo[n - 1] === 0xff) n--;
      if (n === 0) return null;
      const hi = Buffer.from(lo.subarray(0, n));
      hi[n - 1]++;
      return hi;
    }
    const next = nextPrefix(prefix);
    return next === null ? null : this.tryBind(next) ?? undefined;
  }

  /** SUBSTRING counts bytes in our VARBINARY column, characters in an original VARCHAR one. */
  after(prefix: string): number {
    return (this.col.charset === null ? Buffer.byteLength(prefix, 'utf8') : Array.from(prefix).length) + 1;
  }

  /** The key of a row, from what select() read. */
  read(v: unknown): string {
    if (Buffer.isBuffer(v)) return this.codec ? this.codec.decode(v) : v.toString('utf8');
    return String(v ?? '');
  }

  private cannotHold(ch: string): MogError {
    const cp = `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;
    const what = this.codec
      ? `cannot hold "${ch}" (${cp})`
      : `is in a charset mogfs converts no keys to, so it takes ASCII keys only, not "${ch}" (${cp})`;
    return new MogError(
      'key_charset',
      `this database's key column (${this.col.charset}, made by the original MogileFS) ${what}; ` +
        'use a key without it, or convert the file and tempfile dkey columns to utf8mb4',
    );
  }
}
