// What the HTTP adapters (WebDAV, the gateway) share: URL paths as names, and content types.
import mime from 'mime-types';

/** The URL path as decoded segments; null for a path that cannot be decoded, or with a `.`/`..`/`%2F` segment. */
export function urlSegments(rawPath: string): string[] | null {
  const out: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    // A decoded '/' would split a name in two; '.' and '..' would climb out of the prefix; NUL names nothing.
    if (seg === '.' || seg === '..' || seg.includes('/') || seg.includes('\0')) return null;
    out.push(seg);
  }
  return out;
}

/** The type a name's extension says, as nginx's mime.types would. */
export function contentTypeOf(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return mime.lookup(name) || 'application/octet-stream';
}
