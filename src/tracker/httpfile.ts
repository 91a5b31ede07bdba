/**
 * What the tracker asks a storage node about one file over HTTP
 * (MogileFS::HTTPFile): its size by HEAD, and its MD5 by reading it through.
 * Errors are returned as values, since callers turn them into the original's
 * size_verify_error text rather than failing the request.
 */
import { createHash } from 'node:crypto';
import { request } from 'undici';

export type SizeResult = { ok: true; size: number } | { ok: false; missing: boolean; error: string };

export async function headSize(url: string, timeoutMs: number): Promise<SizeResult> {
  try {
    const res = await request(url, { method: 'HEAD', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    await res.body.dump();
    if (res.statusCode === 404) return { ok: false, missing: true, error: 'HTTP 404 Not Found' };
    if (res.statusCode < 200 || res.statusCode > 299) return { ok: false, missing: false, error: `HTTP ${res.statusCode}` };
    const len = res.headers['content-length'];
    const size = Number(Array.isArray(len) ? len[0] : len);
    if (!Number.isInteger(size) || size < 0) return { ok: false, missing: false, error: 'no Content-Length in HEAD reply' };
    return { ok: true, size };
  } catch (err) {
    return { ok: false, missing: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** MD5 of the file at `url`, streamed; null with the reason when it cannot be read. */
export async function md5Of(url: string, timeoutMs: number): Promise<{ digest: Buffer } | { error: string }> {
  try {
    const res = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { error: `HTTP ${res.statusCode}` };
    }
    const hash = createHash('md5');
    for await (const chunk of res.body) hash.update(chunk as Buffer);
    return { digest: hash.digest() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
