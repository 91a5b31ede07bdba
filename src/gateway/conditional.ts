/**
 * HTTP's conditional requests and byte ranges for one file, decided from the
 * tracker's answer alone (entity tag, mtime, length) before any storage node
 * is asked, in the order RFC 9110 section 13.2.2 gives: If-Match,
 * If-Unmodified-Since, If-None-Match, If-Modified-Since, then Range with
 * If-Range. Single ranges only; a request for several gets the whole file,
 * which the RFC allows.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface Validators {
  /** Strong entity tag, quoted. */
  etag: string;
  /** Seconds since the epoch, or null when the file has no stored mtime. */
  lastModified: number | null;
}

/** What to answer before thinking about bytes. */
export type Precondition = 'proceed' | 'not-modified' | 'failed';

/** Entity tags of an If-Match / If-None-Match list; '*' stays '*'. */
function tagList(header: string): string[] {
  return header.split(',').map((t) => t.trim()).filter((t) => t !== '');
}

function weakMatch(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** An HTTP date in seconds, or null when it does not parse (and the header is then ignored, as the RFC says). */
function httpDate(v: string | undefined): number | null {
  if (!v) return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

export function evaluatePreconditions(h: IncomingHttpHeaders, v: Validators, method: string): Precondition {
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined) {
    // Strong comparison: a weak tag never matches.
    const tags = tagList(ifMatch);
    if (!tags.some((t) => t === '*' || t === v.etag)) return 'failed';
  } else {
    const since = httpDate(h['if-unmodified-since']);
    if (since !== null && v.lastModified !== null && v.lastModified > since) return 'failed';
  }
  const safe = method === 'GET' || method === 'HEAD';
  const ifNoneMatch = h['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const tags = tagList(ifNoneMatch);
    if (tags.some((t) => t === '*' || weakMatch(t, v.etag))) return safe ? 'not-modified' : 'failed';
  } else if (safe) {
    const since = httpDate(h['if-modified-since']);
    if (since !== null && v.lastModified !== null && v.lastModified <= since) return 'not-modified';
  }
  return 'proceed';
}

/** Inclusive byte range. */
export interface Range {
  start: number;
  end: number;
}

/** The whole file (null), one range of it, or 'unsatisfiable' (416). */
export type RangeDecision = Range | null | 'unsatisfiable';

/**
 * The Range header of a GET, for a file of `length` bytes. A missing,
 * malformed or multi-range header, or an If-Range that no longer matches,
 * means the whole file.
 */
export function decideRange(h: IncomingHttpHeaders, v: Validators, length: number): RangeDecision {
  const header = h.range;
  if (!header) return null;
  const ifRange = h['if-range'];
  if (ifRange !== undefined) {
    const t = (Array.isArray(ifRange) ? ifRange.join(',') : ifRange).trim();
    if (t.startsWith('"') || t.startsWith('W/')) {
      if (t !== v.etag) return null;
    } else {
      // A date validator must equal the Last-Modified exactly (and a file without one cannot match).
      const d = httpDate(t);
      if (d === null || v.lastModified === null || d !== v.lastModified) return null;
    }
  }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    // The last N bytes.
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return length === 0 ? 'unsatisfiable' : { start: Math.max(0, length - n), end: length - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null; // invalid: ignored
  if (start >= length) return 'unsatisfiable';
  return { start, end };
}

/** RFC 9110's IMF-fixdate for a time in seconds. */
export function httpDateOf(sec: number): string {
  return new Date(sec * 1000).toUTCString();
}
