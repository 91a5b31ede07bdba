/**
 * PUT and DELETE of one file, on routes that allow them. The body streams
 * to a storage node as it arrives (never held whole); the new file gets the
 * time of the upload as its mtime, as a file copied into the mount does.
 * If-Match and If-None-Match are honoured against the file there now, so a
 * client can create without overwriting (`If-None-Match: *`) or replace only
 * what it read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileEtag, MARKER } from '../vfs';
import type { Locator } from '../vfs';
import { nowTimespec } from '../vfs/stat';
import { evaluatePreconditions } from './conditional';
import { sendError } from './serve';

/** The name the mount keeps for directory markers: never a file written over HTTP. */
function isMarkerKey(key: string): boolean {
  return key === MARKER || key.endsWith(`/${MARKER}`);
}

async function current(locator: Locator, key: string, path: string): Promise<Awaited<ReturnType<Locator['locate']>>> {
  // A write decides on the file as it is now, not as a cached answer remembers it.
  locator.forget(key);
  return locator.locate(path);
}

function preconditionFailed(req: IncomingMessage, f: Awaited<ReturnType<Locator['locate']>>, method: string): boolean {
  if (f === null) return req.headers['if-match'] !== undefined;
  return evaluatePreconditions(req.headers, { etag: f.etag, lastModified: f.mtime?.sec ?? null }, method) !== 'proceed';
}

export async function putFile(req: IncomingMessage, res: ServerResponse, locator: Locator, path: string, key: string): Promise<void> {
  if (isMarkerKey(key)) {
    sendError(res, 403, `${MARKER} is the name directory markers use; choose another name`);
    return;
  }
  const before = await current(locator, key, path);
  if (preconditionFailed(req, before, 'PUT')) {
    req.resume();
    res.writeHead(412, { 'Content-Length': '0' }).end();
    return;
  }
  const cl = req.headers['content-length'];
  const size = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
  const mtime = nowTimespec();
  const stored = await locator.store(key, req, size, mtime);
  // Our tracker keeps the mtime just sent; a stock one keeps none, so its tag has none either.
  const etag = fileEtag(stored.fid, stored.length, locator.keepsMtime ? mtime : null);
  res.writeHead(before ? 204 : 201, { ETag: etag, 'Content-Length': '0' }).end();
}

export async function deleteFile(req: IncomingMessage, res: ServerResponse, locator: Locator, path: string, key: string): Promise<void> {
  const before = req.headers['if-match'] !== undefined || req.headers['if-unmodified-since'] !== undefined
    ? await current(locator, key, path) : undefined;
  if (before !== undefined && preconditionFailed(req, before, 'DELETE')) {
    res.writeHead(412, { 'Content-Length': '0' }).end();
    return;
  }
  if (await locator.remove(key)) res.writeHead(204).end();
  else sendError(res, 404, `no file at ${path}`);
}
