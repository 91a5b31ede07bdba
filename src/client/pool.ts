/**
 * A small pool of persistent connections to one tracker, so concurrent callers
 * each get their own socket instead of queueing behind one (a tracker answers
 * requests on one connection strictly in order). Also remembers when the
 * tracker last failed, so the client can skip it for a while as the Perl
 * client's dead-host cache does.
 */
import { TrackerConnection, TrackerNetworkError } from './connection';

interface Waiter {
  resolve(conn: TrackerConnection): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class TrackerPool {
  readonly addr: string;
  private readonly host: string;
  private readonly port: number;
  private readonly max: number;
  private readonly connectTimeoutMs: number;
  private idle: TrackerConnection[] = [];
  /** Connections open or being opened, idle or in use. */
  private count = 0;
  private waiters: Waiter[] = [];
  private closed = false;
  /** Until this time (ms since epoch) the tracker counts as dead. */
  deadUntil = 0;

  constructor(addr: string, max: number, connectTimeoutMs: number) {
    const { host, port } = parseTrackerAddr(addr);
    this.addr = addr;
    this.host = host;
    this.port = port;
    this.max = Math.max(1, max);
    this.connectTimeoutMs = connectTimeoutMs;
  }

  isDead(now: number): boolean {
    return this.deadUntil > now;
  }

  markDead(forMs: number): void {
    this.deadUntil = Date.now() + forMs;
    // Its idle sockets are most likely dead too; don't hand them out later.
    for (const c of this.idle.splice(0)) {
      c.destroy('tracker marked dead');
      this.count--;
    }
  }

  markAlive(): void {
    this.deadUntil = 0;
  }

  /** Get a connection: an idle one, a new one, or wait (at most waitMs) for one to be released. */
  async acquire(waitMs: number): Promise<TrackerConnection> {
    if (this.closed) throw new TrackerNetworkError(`client to ${this.addr} is closed`, false);
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (!c.closed) {
        c.setIdle(false);
        return c;
      }
      this.count--;
    }
    if (this.count < this.max) return this.open();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new TrackerNetworkError(`all ${this.max} connections to tracker ${this.addr} stayed busy for ${waitMs} ms`, false, true, true));
        }, waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Give a connection back after a request; a closed one frees its slot. */
  release(conn: TrackerConnection): void {
    if (conn.closed || this.closed) {
      conn.destroy();
      this.count--;
      const w = this.waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        this.open().then(w.resolve, w.reject);
      }
      return;
    }
    const w = this.waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(conn);
      return;
    }
    conn.setIdle(true);
    this.idle.push(conn);
  }

  close(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.destroy();
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new TrackerNetworkError(`client to ${this.addr} was closed`, false));
    }
  }

  /** Open connections (for tests and diagnostics). */
  get size(): number {
    return this.count;
  }

  private async open(): Promise<TrackerConnection> {
    this.count++;
    try {
      return await TrackerConnection.connect(this.addr, this.host, this.port, this.connectTimeoutMs);
    } catch (e) {
      this.count--;
      throw e;
    }
  }
}

/** "host:port" or "[v6addr]:port". */
export function parseTrackerAddr(addr: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || m[1] === '' || !(port > 0 && port < 65536)) {
    throw new Error(`tracker address "${addr}" is not host:port (e.g. 127.0.0.1:7001)`);
  }
  return { host: m[1], port };
}
