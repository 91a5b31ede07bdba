/**
 * What our line-protocol servers (the tracker's port and the storage node's
 * side channel) share to stay bounded: a client that floods requests, or
 * sends without reading the answers, cannot grow our memory.
 */
import type { Socket } from 'node:net';

/** Stop reading while this many requests wait. */
export const MAX_QUEUED_REQUESTS = 1000;
/** Replies buffered for a client that is not reading, before we stop working for it. */
export const MAX_UNREAD_REPLY_BYTES = 1024 * 1024;
/** Past this much of one over-long line the client is not speaking the protocol: hang up. */
export const ABSURD_LINE_BYTES = 16 * 1024 * 1024;

/** Resolves once `socket` has flushed what it buffered, or closed. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/**
 * The requests of one connection, run one after another in arrival order
 * (so pipelined requests are answered in order). Reading stops while
 * MAX_QUEUED_REQUESTS wait and resumes at half that; answering stops while
 * more than MAX_UNREAD_REPLY_BYTES wait for a client that does not read.
 */
export class RequestQueue<J> {
  private readonly jobs: J[] = [];
  private running = false;

  constructor(
    private readonly socket: Socket,
    private readonly run: (job: J) => Promise<void> | void,
  ) {}

  /** Queue a request; `pump()` works through the queue. */
  push(job: J): void {
    this.jobs.push(job);
    if (this.jobs.length >= MAX_QUEUED_REQUESTS) this.socket.pause();
  }

  async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const socket = this.socket;
    try {
      while (this.jobs.length > 0 && !socket.destroyed) {
        const job = this.jobs.shift() as J;
        if (socket.isPaused() && this.jobs.length < MAX_QUEUED_REQUESTS / 2) socket.resume();
        await this.run(job);
        if (socket.writableLength > MAX_UNREAD_REPLY_BYTES && !socket.destroyed) await drained(socket);
      }
    } finally {
      this.running = false;
    }
  }
}

/**
 * Closes a connection that makes no progress for `ms`: no complete request
 * arrived and none was being answered. Bytes of an unfinished line do not
 * count, so neither a client that trickles half a request nor one that
 * stops reading our answers holds its descriptor for ever. A request being
 * worked on, however long it takes, stops the clock (`working()` ..
 * `answered()`); a complete request line restarts it (`progress()`).
 */
export class IdleTimer {
  private timer: NodeJS.Timeout | null = null;
  private inRequest = false;

  constructor(
    private readonly socket: Socket,
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    socket.once('close', () => this.stop());
    this.progress();
  }

  progress(): void {
    this.stop();
    if (this.inRequest || !(this.ms > 0) || this.socket.destroyed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.socket.destroyed) return;
      this.onIdle();
      this.socket.destroy();
    }, this.ms);
    this.timer.unref();
  }

  working(): void {
    this.inRequest = true;
    this.stop();
  }

  /** The answer is handed to the socket: a client that then does not read it is idle. */
  answered(): void {
    this.inRequest = false;
    this.progress();
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
