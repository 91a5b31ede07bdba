/**
 * One TCP connection to a tracker, carrying one request at a time: the tracker
 * protocol has no request ids, so a reply can only be matched to a request by
 * order, and a connection whose reply never came (timeout, desync) is useless
 * afterwards and is destroyed rather than reused.
 */
import net from 'node:net';

/**
 * A network-level failure talking to a tracker. `sent` says whether the
 * request may have reached the tracker: if not, any command may safely be
 * retried elsewhere; if so, only commands that are safe to run twice.
 */
export class TrackerNetworkError extends Error {
  readonly sent: boolean;
  readonly timeout: boolean;
  /** The tracker is up but all pooled connections stayed busy: not a reason to mark it dead. */
  readonly busy: boolean;
  constructor(message: string, sent: boolean, timeout = false, busy = false) {
    super(message);
    this.name = 'TrackerNetworkError';
    this.sent = sent;
    this.timeout = timeout;
    this.busy = busy;
  }
}

/** A reply line longer than this means a broken peer, not a big listing. */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

interface Pending {
  resolve(line: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class TrackerConnection {
  readonly addr: string;
  private readonly socket: net.Socket;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pending: Pending | null = null;
  private closedReason: string | null = null;

  private constructor(addr: string, socket: net.Socket) {
    this.addr = addr;
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.onClose(err.message));
    socket.on('close', () => this.onClose('connection closed by tracker'));
    socket.on('end', () => this.onClose('connection closed by tracker'));
  }

  static connect(addr: string, host: string, port: number, timeoutMs: number): Promise<TrackerConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TrackerNetworkError(`connect to tracker ${addr} timed out after ${timeoutMs} ms`, false, true));
      }, timeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new TrackerNetworkError(`cannot connect to tracker ${addr}: ${err.message}`, false));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new TrackerConnection(addr, socket));
      });
    });
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Idle pooled connections must not keep the process alive. */
  setIdle(idle: boolean): void {
    if (idle) this.socket.unref();
    else this.socket.ref();
  }

  /** Send one request line and resolve with the reply line (without its line ending). */
  request(line: string, timeoutMs: number): Promise<string> {
    if (this.closedReason !== null) {
      return Promise.reject(new TrackerNetworkError(`tracker ${this.addr}: ${this.closedReason}`, false));
    }
    if (this.pending) {
      return Promise.reject(new Error('internal: TrackerConnection used by two requests at once'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        // A late reply would be taken for the next request's: drop the connection.
        this.destroy('request timed out');
        reject(new TrackerNetworkError(`tracker ${this.addr} did not answer within ${timeoutMs} ms`, true, true));
      }, timeoutMs);
      this.pending = { resolve, reject, timer };
      this.socket.write(line);
    });
  }

  destroy(reason = 'closed by client'): void {
    if (this.closedReason === null) this.closedReason = reason;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const pending = this.pending;
    if (!pending) {
      // Nothing was asked: the stream is out of step with our requests.
      this.destroy('tracker sent data nobody asked for');
      return;
    }
    const nl = chunk.indexOf(0x0a);
    if (nl < 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered > MAX_REPLY_BYTES) {
        this.fail(new TrackerNetworkError(`tracker ${this.addr} sent a reply line over ${MAX_REPLY_BYTES} bytes`, true));
        this.destroy('reply too long');
      }
      return;
    }
    this.chunks.push(chunk.subarray(0, nl));
    const whole = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    let end = whole.length;
    if (end > 0 && whole[end - 1] === 0x0d) end--;
    const line = whole.toString('utf8', 0, end);
    clearTimeout(pending.timer);
    this.pending = null;
    if (nl + 1 < chunk.length) this.destroy('tracker sent more than one reply line');
    pending.resolve(line);
  }

  private onClose(reason: string): void {
    if (this.closedReason === null) this.closedReason = reason;
    this.fail(new TrackerNetworkError(`lost connection to tracker ${this.addr}: ${reason}`, true));
  }

  private fail(err: Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    clearTimeout(pending.timer);
    pending.reject(err);
  }
}
