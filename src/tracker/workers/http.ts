/**
 * The workers' HTTP calls to storage nodes, through one undici Agent with
 * keep-alive so a burst of replications reuses connections. Every response
 * body is read or dumped, or the connection would not return to the pool.
 */
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';

export function createNodeAgent(timeoutMs: number): Agent {
  return new Agent({
    keepAliveTimeout: 10_000,
    connections: 64,
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

export interface SmallResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One request with a small (or no) response body. Network errors and
 * timeouts throw; any HTTP status is returned for the caller to judge.
 */
export async function smallRequest(
  agent: Dispatcher,
  url: string,
  method: Dispatcher.HttpMethod,
  opts: { body?: string | Buffer; maxBytes?: number; timeoutMs?: number } = {},
): Promise<SmallResponse> {
  const res = await request(url, {
    method,
    dispatcher: agent,
    body: opts.body,
    headers: opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : undefined,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
  const max = opts.maxBytes ?? 64 * 1024;
  if (method === 'HEAD') {
    await res.body.dump();
    return { status: res.statusCode, headers: res.headers, body: Buffer.alloc(0) };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > max) {
      res.body.destroy();
      throw new Error(`${method} ${url}: response larger than ${max} bytes`);
    }
    chunks.push(b);
  }
  return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
}

/** DELETE a file on a storage node; true when gone (2xx, or 404: already gone). */
export async function deleteOnNode(agent: Dispatcher, url: string): Promise<boolean> {
  const res = await smallRequest(agent, url, 'DELETE');
  return (res.status >= 200 && res.status < 300) || res.status === 404;
}

/**
 * The size of a file on a storage node, or null when it is not there (any
 * non-2xx answer). Asks for one byte with a Range GET rather than HEAD:
 * undici never reuses a connection after HEAD, and a fresh connection per
 * check would dominate the cost of replicating small files.
 */
export async function sizeOnNode(agent: Dispatcher, url: string, timeoutMs?: number): Promise<number | null> {
  const res = await request(url, {
    method: 'GET',
    dispatcher: agent,
    headers: { range: 'bytes=0-0' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const total = /\/(\d+)\s*$/.exec(String(res.headers['content-range'] ?? ''));
  if (res.statusCode === 206 || res.statusCode === 416) {
    await res.body.dump();
    return total ? Number(total[1]) : null;
  }
  if (res.statusCode === 200) {
    // A server that ignores Range sends the whole file: don't read it.
    res.body.destroy();
    return contentLength(res.headers);
  }
  await res.body.dump();
  return null;
}

/** Content-Length of a HEAD response, or null when the header is missing or bad. */
export function contentLength(headers: Record<string, string | string[] | undefined>): number | null {
  const v = headers['content-length'];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^\d+$/.test(s)) return null;
  return Number(s);
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
