/**
 * The side channel (mgmt port, 7501 in the original): a line protocol the
 * tracker uses for cheap questions about files. What the original answers:
 *   size <uri>   -> `<uri> <bytes>` (or `<uri> -1` when missing)
 *   md5 <uri>    -> `<uri> md5=<32 hex>` (or `<uri> md5=-1` when missing)
 *   watch        -> a stream of `<devid>\t<util>` lines ended by `.`, every second
 * and, ours only (a stock mogstored answers `ERROR: unknown command`):
 *   delete <uri> -> `<uri> deleted` (or `<uri> missing` when it was not there);
 *                   what HTTP DELETE does, for the tracker's delete worker
 *                   at a line's cost instead of a request's. Deletes start
 *                   as they arrive (up to 32 ahead), so one may take effect
 *                   before an earlier line on its connection is answered
 * Lines end in \n or \r\n; replies end in \r\n. A bad uri gets
 * `ERROR: uri invalid (...)`, an unknown command `ERROR: unknown command`;
 * the connection stays usable either way. Replies come in request order.
 * Bounded as the tracker's connections are: a client that sends without
 * reading is not read further, and an endless line ends the connection.
 */
import net from 'node:net';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Logger } from '../common/log';
import { ABSURD_LINE_BYTES, MAX_UNREAD_REPLY_BYTES, RequestQueue } from '../common/lineconn';
import { parseDevicePath, resolveExisting, statInside, PathError } from './paths';
import { deleteInside } from './ops';
import type { IoStatReporter } from './iostat';

const MAX_LINE = 8192;

/**
 * A request line, or null for one that was too long (answered with an
 * error); `early` when its work started as it arrived (a delete: they run
 * side by side, their replies still go in order).
 */
interface Job {
  line: string | null;
  early?: Promise<string | null>;
}

/** Deletes a connection may have started ahead of their turn. */
const MAX_EARLY = 32;

async function checkedPath(docroot: string, uri: string): Promise<string | null> {
  const dp = parseDevicePath(docroot, uri);
  try {
    return await resolveExisting(dp);
  } catch (e) {
    // A device that is not here is a missing file to the tracker, not an error.
    if (e instanceof PathError && e.status === 404) return null;
    throw e;
  }
}

async function sizeOf(docroot: string, uri: string): Promise<string> {
  const dp = parseDevicePath(docroot, uri);
  try {
    const st = await statInside(dp);
    return `${uri} ${st?.isFile() ? st.size : -1}`;
  } catch (e) {
    // Outside the device is an invalid uri; anything else (no such device...) a missing file.
    if (e instanceof PathError && e.status !== 404) throw e;
    return `${uri} -1`;
  }
}

async function md5Of(docroot: string, uri: string): Promise<string> {
  const real = await checkedPath(docroot, uri);
  if (real === null) return `${uri} md5=-1`;
  let fh;
  try {
    fh = await open(real, 'r');
  } catch {
    return `${uri} md5=-1`;
  }
  let offset = 0;
  try {
    if (!(await fh.stat()).isFile()) return `${uri} md5=-1`;
    const hash = createHash('md5');
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      offset += bytesRead;
    }
    return `${uri} md5=${hash.digest('hex')}`;
  } catch {
    return `ERR read ${uri} at ${offset} failed`;
  } finally {
    await fh.close();
  }
}

async function deleteOf(docroot: string, uri: string): Promise<string> {
  const dp = parseDevicePath(docroot, uri);
  try {
    return `${uri} ${(await deleteInside(dp)) ? 'deleted' : 'missing'}`;
  } catch (e) {
    // A device that is not here holds nothing (HTTP DELETE answers 404).
    if (e instanceof PathError && e.status === 404) return `${uri} missing`;
    throw e;
  }
}

const ANSWER = { size: sizeOf, md5: md5Of, delete: deleteOf } as const;

function uriError(e: unknown): string {
  if (e instanceof PathError) {
    const why = /\.\./.test(e.message) ? 'contains ..' : e.message;
    return `ERROR: uri invalid (${why})`;
  }
  throw e;
}

export function createSideChannel(docroot: string, iostat: IoStatReporter, log: Logger): net.Server {
  return net.createServer((sock) => {
    let buf = '';
    let unwatch: (() => void) | null = null;
    const send = (line: string): void => {
      if (sock.destroyed) return;
      // Replies ready in one tick (deletes that ran side by side) go in one write.
      if (sock.writableCorked === 0) {
        sock.cork();
        process.nextTick(() => sock.uncork());
      }
      sock.write(line + '\r\n');
    };

    /** The reply to a request line; null for none (a blank line, watch). */
    const reply = async (line: string): Promise<string | null> => {
      const m = /^(\S+)(?:\s+(.*))?$/.exec(line.trim());
      if (!m) return null; // blank line: nothing asked
      const cmd = m[1].toLowerCase();
      const arg = (m[2] ?? '').trim();
      const answer = cmd === 'size' || cmd === 'md5' || cmd === 'delete' ? ANSWER[cmd] : null;
      if (answer && /^\S+$/.test(arg)) {
        // Raw `..` is refused before decoding, the way the original words it.
        if (arg.includes('..')) return 'ERROR: uri invalid (contains ..)';
        try {
          return await answer(docroot, arg);
        } catch (e) {
          return uriError(e);
        }
      }
      if (cmd === 'watch' && arg === '') {
        // A watcher that does not read misses reports rather than piling them up.
        const report = (r: string): void => void (!sock.destroyed && sock.writableLength <= MAX_UNREAD_REPLY_BYTES && sock.write(r));
        if (!unwatch) unwatch = iostat.subscribe(report);
        return null;
      }
      if (answer) return `ERROR: usage: ${cmd} /dev<N>/<path>`;
      return 'ERROR: unknown command';
    };
    const safeReply = (line: string): Promise<string | null> => reply(line).catch((err: unknown) => {
      log.error({ err }, 'side channel command failed');
      return 'ERROR: internal error';
    });

    // Replies are small and a tracker pipelines size questions: without this,
    // Nagle holds a reply until the previous one is acknowledged (40 ms with delayed ACKs).
    sock.setNoDelay(true);
    sock.setEncoding('latin1');
    // A client that floods or does not read is not read further (RequestQueue).
    // A delete starts as it arrives, so a tracker's pipelined deletes share
    // the thread pool's trips; its reply waits for its turn. A repeat of one
    // started waits for its turn too, so the first is the one that deletes.
    const early = new Set<string>();
    const queue = new RequestQueue<Job>(sock, async (job) => {
      const r = job.line === null ? 'ERROR: line too long' : await (job.early ?? safeReply(job.line));
      if (job.early && job.line !== null) early.delete(job.line);
      if (r !== null) send(r);
    });
    const enqueue = (line: string | null): void => {
      const start = line !== null && early.size < MAX_EARLY && !early.has(line) && /^\s*delete\s/i.test(line);
      if (start) early.add(line);
      queue.push({ line, early: start ? safeReply(line) : undefined });
    };

    let discarding = 0; // chars skipped of an over-long line (already answered), 0 when not skipping
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (discarding > 0) {
          discarding = 0;
          continue;
        }
        enqueue(line.length > MAX_LINE ? null : line);
      }
      if (buf.length > MAX_LINE) {
        if (discarding === 0) enqueue(null);
        discarding += buf.length;
        buf = '';
        if (discarding > ABSURD_LINE_BYTES) {
          log.warn({ remote: sock.remoteAddress }, 'closing a side channel connection that sent a line over 16 MiB');
          sock.destroy();
          return;
        }
      }
      void queue.pump();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      unwatch?.();
      unwatch = null;
    });
  });
}
