/**
 * The remote side of import: the tracker's listing of the prefix read as a
 * stream in key order and met by the local walk, which comes in the same
 * order, so deciding whether a file is already stored holds two pages of the
 * listing (the one being read and the next, fetched meanwhile), never all of it.
 */
import { getAttrs, listFiles, MogError } from '../../client';
import type { FileEntry, FileListing, MogileFS } from '../../client';
import { compareUtf8 } from './localfs';

/** Every file under `prefix` in the tracker's order, a page at a time, the next page asked for while this one is used. */
export async function* listAhead(mogc: MogileFS, prefix: string): AsyncGenerator<FileEntry> {
  const fetch = (after: string | undefined): Promise<FileListing> => {
    const p = listFiles(mogc, prefix, { after, limit: 1000 });
    // Awaited when its turn comes; a failure meanwhile (or after the reader stopped) must not count as unhandled.
    p.catch(() => undefined);
    return p;
  };
  let next: Promise<FileListing> | null = fetch(undefined);
  while (next) {
    const page: FileListing = await next;
    next = page.nextAfter === null ? null : fetch(page.nextAfter);
    yield* page.files;
  }
}

/** The listing met in key order: find() each local key in ascending order. */
export class RemoteListing {
  private readonly source: AsyncGenerator<FileEntry>;
  private head: FileEntry | null = null;
  private last: string | null = null;
  /** Set when the listing broke byte order; from then on each key is looked up alone. */
  private disordered = false;

  /** `warn` gets one line if the tracker lists out of byte order. */
  constructor(private readonly mogc: MogileFS, prefix: string, private readonly warn: (line: string) => void) {
    this.source = listAhead(mogc, prefix);
  }

  /**
   * The stored file under `key`, or undefined. Keys must come in ascending
   * UTF-8 byte order; stored keys passed over are not stored locally, which
   * import leaves alone.
   */
  async find(key: string): Promise<FileEntry | undefined> {
    while (!this.disordered) {
      const head = await this.peek();
      if (this.disordered) break;
      if (!head) return undefined;
      const c = compareUtf8(head.key, key);
      if (c > 0) return undefined;
      this.head = null;
      if (c === 0) return head;
    }
    try {
      return await getAttrs(this.mogc, key);
    } catch (e) {
      if (e instanceof MogError && e.code === 'unknown_key') return undefined;
      throw e;
    }
  }

  private async peek(): Promise<FileEntry | null> {
    if (this.head) return this.head;
    const r = await this.source.next();
    if (r.done) return null;
    const entry = r.value;
    if (this.last !== null && compareUtf8(entry.key, this.last) <= 0) {
      // A database the original made may order keys by its column's collation (latin1_swedish_ci ignores case).
      // Files passed over until now are at worst sent again; what is left is looked up key by key.
      this.disordered = true;
      await this.source.return(undefined);
      this.warn(`mogfs import: the tracker lists keys out of byte order (${JSON.stringify(entry.key)} after ${JSON.stringify(this.last)}); ` +
        'looking up the remaining files one at a time, and some unchanged files may be sent again');
      return null;
    }
    this.last = entry.key;
    this.head = entry;
    return entry;
  }
}
