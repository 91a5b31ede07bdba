/**
 * The prefix scheme: how keys map to paths and back. Key `a/b/c.jpg` is the
 * file `a/b/c.jpg`; directories are implied by key prefixes. A key segment
 * (the text between two `/`) that cannot be a file name is shown escaped, so
 * every key stays reachable and the mapping stays reversible:
 *
 *   segment                      shown as
 *   `c.jpg`                      `c.jpg`                 (plain)
 *   `` (from `a//b`, `/a`, `a/`) `%%`
 *   `.` / `..`                   `%%.` / `%%..`
 *   `%%x`, `.mogfs-dir`, `a\0b`  `%%%25%25x`, `%%.mogfs-dir`, `%%a%00b`
 *   longer than 255 bytes        `%%+<first part>/%%<rest>` (a directory per
 *                                continued part, the last part the file)
 *   a file whose name a directory also has (keys `a` and `a/b`):
 *                                the directory is `a`, the file `%%=a`
 *
 * Escaped text is the segment with `%`, `+`, `=`, `/` and NUL percent-encoded,
 * so `%%+` (continued) and `%%=` (the file beside a same-named directory)
 * never start an ordinary escaped name. The name `.mogfs-dir` is reserved:
 * a zero-length key ending in it is a directory's marker (what keeps an empty
 * directory, and its attributes), hidden from listings.
 */

export const MARKER = '.mogfs-dir';
export const ESC = '%%';
const CONT = '%%+';
const FILE_FORM = '%%=';
export const NAME_MAX = 255;

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** A segment that can be shown as it is. */
export function isPlainSegment(seg: string): boolean {
  return seg !== '' && seg !== '.' && seg !== '..' && seg !== MARKER && !seg.startsWith(ESC) &&
    !seg.includes('\0') && !seg.includes('/') && bytes(seg) <= NAME_MAX;
}

function escapeText(seg: string): string {
  return seg.replace(/[%+=/\0]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

function unescapeText(text: string): string | null {
  // Only the characters escapeText encodes may appear encoded, and only that way.
  if (/%(?!25|2B|3D|2F|00)/.test(text) || /[+=/\0]/.test(text)) return null;
  return text.replace(/%(25|2B|3D|2F|00)/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Splits escaped text into pieces of at most `max` bytes, never inside a %XX triplet or a character. */
function chunk(text: string, first: number, max: number): string[] {
  const out: string[] = [];
  let cur = '';
  let curBytes = 0;
  let limit = first;
  const units = text.match(/%[0-9A-F]{2}|[\s\S]/gu) ?? [];
  for (const u of units) {
    const b = bytes(u);
    if (curBytes + b > limit) {
      out.push(cur);
      cur = '';
      curBytes = 0;
      limit = max;
    }
    cur += u;
    curBytes += b;
  }
  out.push(cur);
  return out;
}

/**
 * The path components that show `seg`: one for most segments, several for
 * a segment too long for one name. `fileForm` is the form of a file that
 * shares its name with a directory.
 */
export function encodeSegment(seg: string, fileForm = false): string[] {
  if (!fileForm && isPlainSegment(seg)) return [seg];
  const last = fileForm ? FILE_FORM : ESC;
  const text = escapeText(seg);
  if (bytes(last + text) <= NAME_MAX) return [last + text];
  // Continued parts fill CONT + 252 bytes; whatever is left (at most 252 bytes) ends it.
  const parts: string[] = [];
  let rest = text;
  while (bytes(last + rest) > NAME_MAX) {
    const [head] = chunk(rest, NAME_MAX - CONT.length, NAME_MAX - CONT.length);
    parts.push(CONT + head);
    rest = rest.slice(head.length);
  }
  parts.push(last + rest);
  return parts;
}

/** Where a path points, in key terms. */
export interface PathRef {
  /** Complete key segments, outermost first. */
  segments: string[];
  /** Text of a long segment whose continued parts the path has walked into (a continuation directory), or null. */
  partial: string | null;
  /** The continued components walked into (for matching listing entries), when `partial` is set. */
  partialComponents: string[];
  /** The last segment came in file form (`%%=`): it names the file beside a same-named directory. */
  fileForm: boolean;
}

/**
 * Parses an absolute path ('/', '/a/b') into key segments. Returns null for
 * a path no key can have: a non-canonical escape (`%%a` for the plain `a`),
 * a file form or a continuation that does not end the path properly, or the
 * reserved marker name.
 */
export function parsePath(path: string): PathRef | null {
  const comps = path.split('/').filter((c) => c !== '');
  const segments: string[] = [];
  let pending = '';
  let pendingComps: string[] = [];
  let fileForm = false;
  for (let i = 0; i < comps.length; i++) {
    const c = comps[i];
    if (fileForm) return null; // a file form must be the last component
    if (c.startsWith(CONT)) {
      pending += c.slice(CONT.length);
      pendingComps.push(c);
      continue;
    }
    let seg: string | null;
    let form = false;
    if (c.startsWith(FILE_FORM)) {
      seg = unescapeText(pending + c.slice(FILE_FORM.length));
      form = true;
    } else if (c.startsWith(ESC)) {
      seg = unescapeText(pending + c.slice(ESC.length));
    } else {
      if (pending !== '' || c === MARKER) return null;
      seg = c;
    }
    if (seg === null) return null;
    const canonical = encodeSegment(seg, form);
    if (canonical.join('/') !== [...pendingComps, c].join('/')) return null;
    segments.push(seg);
    pending = '';
    pendingComps = [];
    fileForm = form;
  }
  if (pendingComps.length > 0) {
    const partial = unescapeText(pending);
    if (partial === null) return null;
    return { segments, partial, partialComponents: pendingComps, fileForm: false };
  }
  return { segments, partial: null, partialComponents: [], fileForm };
}

/** The key a path names, under the mount's key prefix `base` ('' or ending in '/'). */
export function keyOf(base: string, ref: PathRef): string {
  return base + ref.segments.join('/');
}

/** The key prefix whose one-level listing is this directory's content. */
export function listingPrefix(base: string, ref: PathRef): string {
  const dir = ref.segments.length > 0 ? ref.segments.join('/') + '/' : '';
  return base + dir + (ref.partial ?? '');
}

/** One raw entry of a one-level listing under a prefix: a key, or a common prefix ending in '/'. */
export interface RawEntry<T> {
  /** The key's text after the listing prefix (without the trailing '/' of a directory). */
  rest: string;
  isDir: boolean;
  value: T;
}

/** A name as a directory shows it. */
export interface ShownEntry<T> {
  name: string;
  isDir: boolean;
  /** The file or directory it stands for; for a continuation directory, the first entry continuing there. */
  value: T;
  /** A continuation directory (part of an over-long name), not a real directory. */
  continuation: boolean;
}

/**
 * The names a directory shows for one listing of its prefix. `ref` is the
 * directory. Entries belonging to a different continuation are skipped;
 * several over-long keys sharing a continued part show as one continuation
 * directory; a file beside a same-named directory gets its file form.
 */
export function showEntries<T>(ref: PathRef, raw: RawEntry<T>[]): ShownEntry<T>[] {
  const pre = ref.partial ?? '';
  const depth = ref.partialComponents.length;
  const dirSegs = new Set(raw.filter((r) => r.isDir).map((r) => pre + r.rest));
  const out: ShownEntry<T>[] = [];
  const seen = new Set<string>();
  for (const r of raw) {
    const seg = pre + r.rest;
    const comps = encodeSegment(seg, !r.isDir && dirSegs.has(seg));
    if (comps.length <= depth) continue;
    let matches = true;
    for (let i = 0; i < depth; i++) if (comps[i] !== ref.partialComponents[i]) matches = false;
    if (!matches) continue;
    const name = comps[depth];
    const continuation = depth < comps.length - 1;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, isDir: continuation || r.isDir, value: r.value, continuation });
  }
  return out;
}

/**
 * Whether a new file or directory may be made at `ref`: any canonical name
 * (escaped ones too) except the reserved marker name, a file form, and the
 * inside of a continuation.
 */
export function creatable(ref: PathRef): boolean {
  if (ref.partial !== null || ref.fileForm || ref.segments.length === 0) return false;
  return ref.segments[ref.segments.length - 1] !== MARKER;
}
