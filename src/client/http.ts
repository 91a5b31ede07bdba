/**
 * HTTP to storage nodes, through one undici keep-alive pool per client: the
 * agent, URL splitting, and turning a failed response into a readable error.
 */
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';

export function createAgent(timeoutMs: number): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    connect: { timeout: Math.min(timeoutMs, 10_000) },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

/** Split a path URL from the tracker into undici's origin + path. */
export function splitUrl(url: string): { origin: string; path: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`tracker returned an invalid storage path "${url}"`);
  }
  if (u.protocol !== 'http:') throw new Error(`tracker returned a non-http storage path "${url}"`);
  return { origin: u.origin, path: u.pathname + u.search };
}

/** Read (at most 512 bytes of) an error response body for the message, and release the socket. */
export async function errorBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  try {
    const text = await body.text();
    return text.replace(/\s+/g, ' ').trim().slice(0, 512);
  } catch {
    return '';
  }
}

export function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}
