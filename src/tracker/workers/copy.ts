/**
 * Copies one fid from a source device to a destination device over HTTP:
 * a small file is read whole and PUT as one buffer; a larger one's GET body
 * is streamed straight into the PUT (never held whole in memory). Either is
 * hashed when the file has or wants an MD5, then the
 * destination is verified (its size, or a re-read MD5). Failures say
 * which side failed so the replicator can try another source or destination.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { contentLength, describeError, smallRequest } from './http';
import { fileMd5, md5TimeoutMs } from '../httpfile';

export class CopyError extends Error {
  constructor(readonly side: 'src' | 'dest', message: string) {
    super(message);
    this.name = 'CopyError';
  }
}

export interface CopyJob {
  fid: number;
  srcUrl: string;
  destUrl: string;
  /** file.length: the source must have exactly this many bytes. */
  length: number;
  /** Hash the bytes (MD5) while copying. */
  md5: boolean;
  /** A checksum the copy must match (the file's stored MD5), if any. */
  expectMd5: Buffer | null;
  timeoutMs: number;
  /** The destination node's side channel port, if it has one: the copy's MD5 is then computed there, not read back. */
  destSidechannelPort?: number;
}

/** Returns the MD5 of the copied bytes when `md5` was asked for, else null. */
export async function httpCopy(agent: Dispatcher, job: CopyJob): Promise<Buffer | null> {
  const src = await request(job.srcUrl, { method: 'GET', dispatcher: agent }).catch((err: unknown) => {
    throw new CopyError('src', `GET ${job.srcUrl} failed: ${describeError(err)}`);
  });
  if (src.statusCode < 200 || src.statusCode > 299) {
    await src.body.dump().catch(() => undefined);
    throw new CopyError('src', `GET ${job.srcUrl} answered HTTP ${src.statusCode}`);
  }
  const clen = contentLength(src.headers);
  if (clen !== job.length) {
    src.body.destroy();
    throw new CopyError('src', `${job.srcUrl} has ${clen ?? 'no'} content-length, the file is ${job.length} bytes`);
  }

  if (job.length > 0 && job.length <= SMALL_COPY) return copySmall(agent, job, src.body);

  const hash: Hash | null = job.md5 || job.expectMd5 ? createHash('md5') : null;
  // Held in an object: a plain `let` assigned in a callback confuses narrowing.
  const seen: { srcFailure: Error | null } = { srcFailure: null };
  src.body.on('error', (err: Error) => {
    seen.srcFailure = err;
  });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash?.update(chunk);
      cb(null, chunk);
    },
  });
  src.body.on('error', (err: Error) => tap.destroy(err));
  src.body.pipe(tap);

  let putStatus: number;
  try {
    const put = await request(job.destUrl, {
      method: 'PUT',
      dispatcher: agent,
      body: job.length === 0 ? '' : tap,
      headers: { 'content-length': String(job.length) },
      // The storage node answers only once the whole body is on its disk.
      headersTimeout: Math.max(job.timeoutMs, 30_000),
    });
    putStatus = put.statusCode;
    await put.body.dump().catch(() => undefined);
  } catch (err) {
    src.body.destroy();
    if (seen.srcFailure) throw new CopyError('src', `reading ${job.srcUrl} failed midway: ${describeError(seen.srcFailure)}`);
    throw new CopyError('dest', `PUT ${job.destUrl} failed: ${describeError(err)}`);
  }
  if (job.length === 0) await src.body.dump().catch(() => undefined);
  if (seen.srcFailure) throw new CopyError('src', `reading ${job.srcUrl} failed midway: ${describeError(seen.srcFailure)}`);
  if (putStatus < 200 || putStatus > 299) {
    src.body.destroy();
    throw new CopyError('dest', `PUT ${job.destUrl} answered HTTP ${putStatus}`);
  }

  return checkAndVerify(agent, job, hash ? hash.digest() : null);
}

/**
 * Files up to this size are read whole and sent as one buffer: cheaper than
 * piping a stream through a Transform into the PUT, and they fit in memory
 * many times over (the copy parallelism bounds how many are held at once).
 */
const SMALL_COPY = 256 * 1024;

async function copySmall(agent: Dispatcher, job: CopyJob, body: Dispatcher.ResponseData['body']): Promise<Buffer | null> {
  let data: Buffer;
  try {
    data = Buffer.from(await body.arrayBuffer());
  } catch (err) {
    throw new CopyError('src', `reading ${job.srcUrl} failed midway: ${describeError(err)}`);
  }
  if (data.length !== job.length) {
    throw new CopyError('src', `${job.srcUrl} sent ${data.length} bytes, the file is ${job.length} bytes`);
  }
  const digest = job.md5 || job.expectMd5 ? createHash('md5').update(data).digest() : null;
  // A corrupt source is caught before anything is written to the destination.
  if (digest && job.expectMd5 && !digest.equals(job.expectMd5)) {
    throw new CopyError(
      'src',
      `checksum mismatch reading ${job.srcUrl}: expected MD5 ${job.expectMd5.toString('hex')}, got ${digest.toString('hex')}`,
    );
  }
  let putStatus: number;
  try {
    const put = await request(job.destUrl, {
      method: 'PUT',
      dispatcher: agent,
      body: data,
      headers: { 'content-length': String(job.length) },
      headersTimeout: Math.max(job.timeoutMs, 30_000),
    });
    putStatus = put.statusCode;
    await put.body.dump().catch(() => undefined);
  } catch (err) {
    throw new CopyError('dest', `PUT ${job.destUrl} failed: ${describeError(err)}`);
  }
  if (putStatus < 200 || putStatus > 299) throw new CopyError('dest', `PUT ${job.destUrl} answered HTTP ${putStatus}`);
  return checkAndVerify(agent, job, digest);
}

/** A copy made against an expected MD5 must match it, and what landed is re-read when there is one. */
async function checkAndVerify(agent: Dispatcher, job: CopyJob, digest: Buffer | null): Promise<Buffer | null> {
  if (digest && job.expectMd5 && !digest.equals(job.expectMd5)) {
    // The source copy is corrupt; the bad bytes must not stay as a replica.
    await smallRequest(agent, job.destUrl, 'DELETE').catch(() => undefined);
    throw new CopyError(
      'src',
      `checksum mismatch reading ${job.srcUrl}: expected MD5 ${job.expectMd5.toString('hex')}, got ${digest.toString('hex')}`,
    );
  }
  await verifyDest(agent, job, digest);
  return digest;
}

/**
 * Check what landed when there is an MD5: the destination node computes it
 * over its side channel, or else it is read back (as the original's
 * http_copy does); a copy that differs is removed. Without one, the 2xx
 * answer to a PUT with Content-Length is the check, as in the original: the
 * storage node refuses a body of any other length, so a second request
 * only to ask the size would add nothing.
 */
async function verifyDest(agent: Dispatcher, job: CopyJob, digest: Buffer | null): Promise<void> {
  if (!digest) return;
  const got = await fileMd5(job.destUrl, md5TimeoutMs(job.timeoutMs, job.length), job.destSidechannelPort);
  if (!('digest' in got)) {
    throw new CopyError('dest', `verifying ${job.destUrl} failed: ${'missing' in got ? 'the copy is missing' : got.error}`);
  }
  if (got.digest.equals(digest)) return;
  await smallRequest(agent, job.destUrl, 'DELETE').catch(() => undefined);
  throw new CopyError('dest', `verifying ${job.destUrl} failed: MD5 ${got.digest.toString('hex')}, expected ${digest.toString('hex')}`);
}
