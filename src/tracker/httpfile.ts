/**
 * What the tracker asks a storage node about one file over HTTP on request
 * paths (MogileFS::HTTPFile): its size, and its MD5 by reading it through.
 * Errors are returned as values, since callers turn them into the original's
 * size_verify_error text rather than failing the request.
 *
 * All of it goes through one keep-alive agent, so create_close and
 * get_paths reuse connections instead of paying a TCP handshake each. The
 * size is asked with a 1-byte Range GET rather than HEAD: undici closes the
 * connection after every HEAD (to survive servers that send a body anyway),
 * which would make each check a new connection again.
 */
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { sideChannelMd5, sideChannelSize, sideChannelTarget } from './sidechannel';

export type SizeResult = { ok: true; size: number } | { ok: false; missing: boolean; error: string };

/** Keep-alive pools by connect timeout (a tracker's node_timeout); idle sockets don't hold the process open. */
const agents = new Map<number, Agent>();

export function storageAgent(timeoutMs: number): Dispatcher {
  let a = agents.get(timeoutMs);
  if (!a) {
    a = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: timeoutMs } });
    agents.set(timeoutMs, a);
  }
  return a;
}

/**
 * The size of the file at `url`: over the node's side channel when it has
 * one (`sidechannelPort`, learnt by the monitor), else, or when that can't
 * answer, over HTTP.
 */
export async function fileSize(url: string, timeoutMs: number, sidechannelPort?: number): Promise<SizeResult> {
  const at = sidechannelPort ? sideChannelTarget(url) : null;
  if (at && sidechannelPort) {
    const size = await sideChannelSize(at.host, sidechannelPort, at.uri, timeoutMs);
    if (size !== null) return size < 0 ? { ok: false, missing: true, error: 'missing (side channel says -1)' } : { ok: true, size };
  }
  return headSize(url, timeoutMs);
}

export async function headSize(url: string, timeoutMs: number): Promise<SizeResult> {
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { range: 'bytes=0-0' },
      dispatcher: storageAgent(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const status = res.statusCode;
    if (status === 206 || status === 416) {
      await res.body.dump();
      // "bytes 0-0/SIZE", or "bytes */0" for an empty file.
      const total = /\/(\d+)\s*$/.exec(header(res.headers['content-range']) ?? '');
      if (total) return { ok: true, size: Number(total[1]) };
      return headRequest(url, timeoutMs);
    }
    if (status >= 200 && status <= 299) {
      // A server that ignores Range sends the whole file: its length is in the header, don't read it.
      res.body.destroy();
      return sizeFromLength(res.headers);
    }
    await res.body.dump();
    if (status === 404) return { ok: false, missing: true, error: 'HTTP 404 Not Found' };
    return { ok: false, missing: false, error: `HTTP ${status}` };
  } catch (err) {
    return { ok: false, missing: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** A real HEAD, for servers whose Range answer gives no total size. */
async function headRequest(url: string, timeoutMs: number): Promise<SizeResult> {
  const res = await request(url, { method: 'HEAD', dispatcher: storageAgent(timeoutMs), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  await res.body.dump();
  if (res.statusCode === 404) return { ok: false, missing: true, error: 'HTTP 404 Not Found' };
  if (res.statusCode < 200 || res.statusCode > 299) return { ok: false, missing: false, error: `HTTP ${res.statusCode}` };
  return sizeFromLength(res.headers);
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function sizeFromLength(headers: Record<string, string | string[] | undefined>): SizeResult {
  const size = Number(header(headers['content-length']));
  if (!Number.isInteger(size) || size < 0) return { ok: false, missing: false, error: 'no Content-Length in HEAD reply' };
  return { ok: true, size };
}

/** An MD5, or why there is none (`missing`: the node says the file is not there). */
export type Md5Result = { digest: Buffer } | { missing: true; error: string } | { error: string };

/** MD5 of the file at `url`, read through over HTTP; the reason when it cannot be read. */
async function md5Of(url: string, timeoutMs: number): Promise<Md5Result> {
  try {
    const res = await request(url, { method: 'GET', dispatcher: storageAgent(timeoutMs), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return res.statusCode === 404 ? { missing: true, error: 'HTTP 404 Not Found' } : { error: `HTTP ${res.statusCode}` };
    }
    const hash = createHash('md5');
    for await (const chunk of res.body) hash.update(chunk as Buffer);
    return { digest: hash.digest() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** Time allowed to read a file through for its MD5: the node timeout, at least 30 s, plus a second per 20 MB. */
export function md5TimeoutMs(nodeTimeoutMs: number, size: number): number {
  return Math.max(nodeTimeoutMs, 30_000) + Math.ceil(size / 20_000);
}

/**
 * MD5 of the file at `url`: computed by the storage node over its side
 * channel when it has one (the bytes stay on the node, as the original's
 * HTTPFile->digest asks mogstored first), else, or when that can't answer,
 * by reading it over HTTP.
 */
export async function fileMd5(url: string, timeoutMs: number, sidechannelPort?: number): Promise<Md5Result> {
  const at = sidechannelPort ? sideChannelTarget(url) : null;
  if (at && sidechannelPort) {
    const r = await sideChannelMd5(at.host, sidechannelPort, at.uri, timeoutMs);
    if (r === -1) return { missing: true, error: 'missing (side channel says md5=-1)' };
    if (r !== null) return { digest: r };
  }
  return md5Of(url, timeoutMs);
}
