/**
 * The tracker's side of mogstored's side channel, for size and MD5 checks
 * and (our mogstored only) deletes:
 * one persistent connection per storage node, `size <uri>` lines pipelined
 * on it and answered in order (`<uri> <bytes>`, or `<uri> -1` when missing),
 * and a second one for `md5 <uri>` (`<uri> md5=<hex>`, or `md5=-1`). This
 * is what the original's HTTPFile->size asks first; it costs the node one
 * stat and us one line, where an HTTP check costs a request and a read.
 * Any trouble (no connection, timeout, an answer we can't parse) gives null,
 * the caller falls back to HTTP, and the node's side channel is left alone
 * for a while, as the original does. The node answers a connection's
 * questions one after another, so a question's timeout runs from when it
 * is first in line, not from when it was asked: a long `md5` ahead of it
 * is not its delay. A connection the node closes while nothing is asked
 * is only dropped (the next question opens another), not held against it.
 * An `ERROR: ...` (or `ERR ...`) line answers its question (null, the caller falls back)
 * without closing the connection; `ERROR: unknown command` to a `delete`
 * (a stock mogstored, or one of ours from before it) leaves the delete
 * worker on HTTP DELETE for that node for a while.
 */
import net from 'node:net';

/** After a failure, how long a node's side channel is not tried, ms (the original: 15 s). */
const RETRY_AFTER_MS = 15_000;
/** A reply line longer than this is not from a side channel. */
const MAX_LINE = 16 * 1024;

type Answer = number | Buffer | 'unknown command' | null;
type Command = 'size' | 'md5' | 'delete';

interface Pending {
  uri: string;
  /** The answer's value part (after the uri) as the caller wants it; undefined when it does not parse. */
  parse(value: string): number | Buffer | undefined;
  resolve(v: Answer): void;
  timeoutMs: number;
  /** Armed once the question is first in line. */
  timer: NodeJS.Timeout | null;
}

const parseSize = (v: string): number | undefined => (/^-?\d+$/.test(v) ? (Number(v) < 0 ? -1 : Number(v)) : undefined);
const parseMd5 = (v: string): number | Buffer | undefined => {
  if (v === 'md5=-1') return -1;
  const m = /^md5=([0-9a-fA-F]{32})$/.exec(v);
  return m ? Buffer.from(m[1], 'hex') : undefined;
};
/** 1: deleted; -1: it was not there. */
const parseDelete = (v: string): number | undefined => (v === 'deleted' ? 1 : v === 'missing' ? -1 : undefined);
const PARSE = { size: parseSize, md5: parseMd5, delete: parseDelete } as const;

class SideChannelConnection {
  private readonly socket: net.Socket;
  private readonly pending: Pending[] = [];
  private buf = '';
  closed = false;

  /** onDead(failed): the connection is gone; `failed` when that was trouble rather than an idle close. */
  constructor(host: string, port: number, private readonly onDead: (failed: boolean) => void) {
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.setEncoding('latin1');
    this.socket.unref();
    this.socket.on('data', (chunk: string) => this.onData(chunk));
    this.socket.on('error', () => this.fail());
    this.socket.on('close', () => this.fail(this.pending.length > 0));
  }

  ask(cmd: Command, uri: string, timeoutMs: number): Promise<Answer> {
    return new Promise((resolve) => {
      this.pending.push({ uri, parse: PARSE[cmd], resolve, timeoutMs, timer: null });
      if (this.pending.length === 1) {
        this.socket.ref();
        this.armHead();
      }
      // Questions asked in one tick (the copies of delete jobs that start together) go in one write.
      if (this.socket.writableCorked === 0) {
        this.socket.cork();
        process.nextTick(() => this.socket.uncork());
      }
      this.socket.write(`${cmd} ${uri}\r\n`);
    });
  }

  /** Starts the clock of the question now first in line. */
  private armHead(): void {
    const head = this.pending[0];
    if (head && !head.timer) head.timer = setTimeout(() => this.fail(), head.timeoutMs);
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      const p = this.pending.shift();
      if (!p) return this.fail();
      if (p.timer) clearTimeout(p.timer);
      // The node could not answer this one (`ERROR: …`, or md5's `ERR read … failed`; one line
      // per question, in order): the connection stays good.
      if (line.startsWith('ERR')) {
        p.resolve(/^ERROR:? unknown command/i.test(line) ? 'unknown command' : null);
      } else {
        const m = /^(\S+)\s+(\S+)\s*$/.exec(line);
        const value = m && m[1] === p.uri ? p.parse(m[2]) : undefined;
        // An answer for another uri means we are out of step: trust nothing more on this connection.
        if (value === undefined) {
          p.resolve(null);
          return this.fail();
        }
        p.resolve(value);
      }
      if (this.pending.length === 0) this.socket.unref();
      else this.armHead();
    }
    if (this.buf.length > MAX_LINE) this.fail();
  }

  private fail(failed = true): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) {
      if (p.timer) clearTimeout(p.timer);
      p.resolve(null);
    }
    this.onDead(failed);
  }
}

/**
 * The host and `/dev<N>/...` path of a storage node's file URL, as the side
 * channel names the file; null for a URL it cannot name.
 */
export function sideChannelTarget(url: string): { host: string; uri: string } | null {
  const m = /^http:\/\/([^/:]+)(?::\d+)?(\/\S*)$/.exec(url);
  return m ? { host: m[1], uri: m[2] } : null;
}

const connections = new Map<string, SideChannelConnection>();
const downUntil = new Map<string, number>();

/**
 * Size in bytes of `uri` (`/dev<N>/...`) on the node at host:port, -1 when
 * the node says it is missing, null when the side channel could not answer.
 */
export async function sideChannelSize(host: string, port: number, uri: string, timeoutMs: number): Promise<number | null> {
  const v = await ask('size', host, port, uri, timeoutMs);
  return typeof v === 'number' ? v : null;
}

/**
 * MD5 of `uri` computed by the node itself (`md5 <uri>`, read where it lies,
 * so the bytes do not cross the network), -1 when the node says it is
 * missing, null when the side channel could not answer. Asked on a
 * connection of its own, so a long read does not hold up size checks
 * queued behind it.
 */
export async function sideChannelMd5(host: string, port: number, uri: string, timeoutMs: number): Promise<Buffer | -1 | null> {
  const v = await ask('md5', host, port, uri, timeoutMs);
  return v === -1 || Buffer.isBuffer(v) ? v : null;
}

/** Nodes that answered `delete` with `ERROR: unknown command`, until when (ms). */
const noDeleteUntil = new Map<string, number>();
/** How long such a node is not asked to delete again (it may be upgraded meanwhile), ms. */
const NO_DELETE_MS = 10 * 60_000;

/**
 * Deletes `uri` on the node at host:port through the side channel (ours
 * only): true when it went, false when it was not there, null when the
 * side channel could not do it (the caller uses HTTP DELETE).
 */
export async function sideChannelDelete(host: string, port: number, uri: string, timeoutMs: number): Promise<boolean | null> {
  const node = `${host}:${port}`;
  const until = noDeleteUntil.get(node);
  if (until !== undefined) {
    if (Date.now() < until) return null;
    noDeleteUntil.delete(node);
  }
  const v = await ask('delete', host, port, uri, timeoutMs);
  if (v === 'unknown command') noDeleteUntil.set(node, Date.now() + NO_DELETE_MS);
  return v === 1 ? true : v === -1 ? false : null;
}

function ask(cmd: Command, host: string, port: number, uri: string, timeoutMs: number): Promise<Answer> {
  const node = `${host}:${port}`;
  // md5 reads whole files and delete waits on unlink: each has its own
  // connection, so neither holds up the size checks behind it.
  const key = cmd === 'size' ? node : `${node}#${cmd}`;
  const down = downUntil.get(node);
  if (down !== undefined) {
    if (Date.now() < down) return Promise.resolve(null);
    downUntil.delete(node);
  }
  let conn = connections.get(key);
  if (!conn || conn.closed) {
    const c: SideChannelConnection = new SideChannelConnection(host, port, (failed) => {
      if (connections.get(key) === c) connections.delete(key);
      if (failed) downUntil.set(node, Date.now() + RETRY_AFTER_MS);
    });
    connections.set(key, c);
    conn = c;
  }
  return conn.ask(cmd, uri, timeoutMs);
}
