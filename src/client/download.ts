/**
 * Reading a file from its replica paths as a stream. The first path that
 * answers is used; if it fails before the first byte, the next is tried; if it
 * fails midway, the read resumes on the next path with a Range from the byte
 * where it stopped, so the caller sees one unbroken stream or an error.
 */
import { PassThrough, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { MogError } from '../protocol';
import type { ByteRange } from './types';
import { splitUrl, errorBody, describe } from './http';

type Body = Dispatcher.ResponseData['body'];

interface Opened {
  body: Body;
  /** Bytes this response will carry, when the node said. */
  length: number | undefined;
}

/** Told of each replica that failed during a read (the read goes on with the next). */
export type ReadFailure = (url: string, err: unknown) => void;

/** Resolves once a path has answered with data (rejects if none did); later failures come as stream errors. */
export async function openRead(
  dispatcher: Dispatcher, paths: string[], range: ByteRange | undefined, onFailure?: ReadFailure,
): Promise<Readable> {
  if (range) validateRange(range);
  const start = range?.start ?? 0;
  const end = range?.end;
  const failures: string[] = [];
  let next = 0;

  // Open paths[next..] from byte `from`; null when every path failed.
  const openFrom = async (from: number): Promise<Opened | 'eof' | null> => {
    while (next < paths.length) {
      const url = paths[next++];
      try {
        return await openOne(dispatcher, url, from, end, from > 0 || end !== undefined);
      } catch (e) {
        failures.push(`${url}: ${describe(e)}`);
        onFailure?.(url, e);
      }
    }
    return null;
  };

  const first = await openFrom(start);
  if (first === null) {
    throw new MogError('read_failed', `could not read from any of the ${paths.length} paths the tracker gave; ${failures.join('; ')}`);
  }
  if (first === 'eof') return Readable.from([]);

  const out = new PassThrough();
  let delivered = 0;
  let current: Body | null = null;
  let finished = false;

  const pump = (opened: Opened): void => {
    const body = opened.body;
    current = body;
    let got = 0;
    body.on('data', (chunk: Buffer) => {
      got += chunk.length;
      delivered += chunk.length;
      if (!out.write(chunk)) body.pause();
    });
    body.on('error', (err) => resume(`${describe(err)}`));
    body.on('end', () => {
      if (opened.length !== undefined && got < opened.length) {
        resume(`response ended after ${got} of ${opened.length} bytes`);
        return;
      }
      finished = true;
      out.end();
    });
  };

  const resume = (why: string): void => {
    if (finished || out.destroyed) return;
    failures.push(why);
    onFailure?.(paths[next - 1], new Error(why));
    current?.destroy();
    current = null;
    openFrom(start + delivered).then((o) => {
      if (out.destroyed) {
        if (o && o !== 'eof') o.body.destroy();
        return;
      }
      if (o === null) {
        out.destroy(new MogError('read_failed', `read broke off after ${delivered} bytes and no other path could continue it; ${failures.join('; ')}`));
      } else if (o === 'eof') {
        finished = true;
        out.end();
      } else {
        pump(o);
      }
    }, (err: unknown) => out.destroy(err as Error));
  };

  out.on('drain', () => current?.resume());
  out.on('close', () => {
    if (!finished) current?.destroy();
  });
  pump(first);
  return out;
}

async function openOne(dispatcher: Dispatcher, url: string, from: number, end: number | undefined, ranged: boolean): Promise<Opened | 'eof'> {
  const { origin, path } = splitUrl(url);
  const headers: Record<string, string> = {};
  if (ranged) headers.range = `bytes=${from}-${end ?? ''}`;
  const res = await dispatcher.request({ origin, path, method: 'GET', headers });
  if (res.statusCode === 416) {
    // Asking at or past the end: nothing to read, as a read past EOF returns nothing.
    await res.body.dump();
    return 'eof';
  }
  const ok = ranged ? res.statusCode === 206 : res.statusCode === 200;
  if (!ok) {
    const text = await errorBody(res.body);
    const hint = ranged && res.statusCode === 200 ? ' (the storage node ignored the Range header)' : '';
    throw new Error(`HTTP ${res.statusCode}${hint}${text ? `: ${text}` : ''}`);
  }
  const cl = res.headers['content-length'];
  const length = typeof cl === 'string' && /^\d+$/.test(cl) ? Number(cl) : undefined;
  return { body: res.body, length };
}

function validateRange(r: ByteRange): void {
  const okStart = Number.isSafeInteger(r.start) && r.start >= 0;
  const okEnd = r.end === undefined || (Number.isSafeInteger(r.end) && r.end >= r.start);
  if (!okStart || !okEnd) {
    throw new MogError('invalid_range', `invalid byte range ${JSON.stringify(r)}: start must be >= 0 and end (inclusive) >= start`);
  }
}
