/**
 * The tracker's line protocol: `command k1=v1&k2=v2\r\n` requests and
 * `OK k=v&...\r\n` / `ERR code text\r\n` replies, with values URL-encoded the
 * way Perl's MogileFS::Util (eurl/decode_url_args) does it.
 */
import { MogError } from './errors';

export type Args = Record<string, string>;

/** Encode like MogileFS::Util::eurl(): keep [a-zA-Z0-9_,-./\\:], space as '+', else %XX (uppercase). */
const SAFE = new Set([0x5f, 0x2c, 0x2d, 0x2e, 0x2f, 0x5c, 0x3a]); // _ , - . / \ :

/** Values made only of characters eurl keeps as they are (most keys, paths, numbers). */
const PLAIN = /^[A-Za-z0-9_,\-./\\:]*$/;

export function eurl(value: string | number | Buffer): string {
  // Fast path: nothing to escape (the common case for numbers, fids, URLs).
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && PLAIN.test(value)) return value;
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  let out = '';
  for (const b of buf) {
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || SAFE.has(b)) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) {
      out += '+';
    } else {
      out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
    }
  }
  return out;
}

/**
 * Decode a URL-encoded value to bytes. A '%' not followed by two hex digits is
 * kept literally, as Perl's decoder does, rather than rejected: stock clients
 * never send that, and keeping it loses nothing.
 */
export function durlBytes(s: string): Buffer {
  const out = Buffer.allocUnsafe(Buffer.byteLength(s, 'latin1'));
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      out[n++] = 0x20;
    } else if (c === 0x25 && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out[n++] = parseInt(s.substr(i + 1, 2), 16);
      i += 2;
    } else if (c < 0x80) {
      out[n++] = c;
    } else {
      // Raw non-ASCII on the wire: keep its UTF-8 bytes.
      const b = Buffer.from(s[i], 'utf8');
      b.copy(out, n);
      n += b.length;
    }
  }
  return out.subarray(0, n);
}

/** Strings with no '%', '+' or non-ASCII character decode to themselves. */
export const NEEDS_DECODING = /[%+\u0080-\uffff]/;

export function durl(s: string): string {
  if (!NEEDS_DECODING.test(s)) return s;
  return durlBytes(s).toString('utf8');
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Parse `a=1&b=2` into an object; later duplicates win, as in Perl's hash assignment. */
export function decodeArgs(s: string): Args {
  const args: Args = Object.create(null) as Args;
  if (s === '') return args;
  for (const pair of s.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    args[durl(k)] = durl(v);
  }
  return args;
}

export function encodeArgs(args: Record<string, string | number | undefined | null>): string {
  const parts: string[] = [];
  for (const k of Object.keys(args)) {
    const v = args[k];
    if (v === undefined) continue;
    parts.push(eurl(k) + '=' + eurl(v === null ? '' : v));
  }
  return parts.join('&');
}

export interface Request {
  command: string;
  args: Args;
}

/**
 * Parse one request line (without its line ending). Command names are
 * case-insensitive on the wire, as in the original's `lc($cmd)`.
 */
export function parseRequest(line: string): Request {
  const m = /^\s*(\S+)\s*(.*?)\s*$/s.exec(line);
  if (!m) throw new MogError('unknown_command', 'empty request line');
  const command = m[1].toLowerCase();
  if (!/^[a-z0-9_]+$/.test(command)) throw new MogError('unknown_command', 'malformed command name');
  return { command, args: decodeArgs(m[2]) };
}

export function formatRequest(command: string, args: Record<string, string | number | undefined | null> = {}): string {
  return `${command} ${encodeArgs(args)}\r\n`;
}

export function formatOk(args: Record<string, string | number | undefined | null> = {}): string {
  return `OK ${encodeArgs(args)}\r\n`;
}

/** `ERR code text`: the text URL-encoded; with no text the code is repeated, as the original does. */
export function formatErr(code: string, text?: string): string {
  return `ERR ${code} ${eurl(text && text.length > 0 ? text : code)}\r\n`;
}

export type Reply = { ok: true; args: Args } | { ok: false; code: string; message: string };

export function parseReply(line: string): Reply {
  const trimmed = line.replace(/\r?\n$/, '');
  let m = /^OK\s*(.*)$/.exec(trimmed);
  if (m) return { ok: true, args: decodeArgs(m[1].trim()) };
  m = /^ERR\s+(\S+)\s*(.*)$/.exec(trimmed);
  if (m) return { ok: false, code: m[1], message: durl(m[2]) };
  return { ok: false, code: 'bad_reply', message: `tracker sent an unrecognised reply: ${trimmed.slice(0, 200)}` };
}
