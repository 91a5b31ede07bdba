/**
 * The one tracker client: sends `command args` lines to one of several
 * trackers and returns the reply args, or throws MogError with the tracker's
 * own error code. A tracker that cannot be reached is skipped for a while (as
 * MogileFS::Backend's dead-host cache does) and the next one is tried.
 */
import { formatRequest, parseReply, MogError } from '../protocol';
import type { Args } from '../protocol';
import { TrackerNetworkError } from './connection';
import { TrackerPool } from './pool';

export type ArgValue = string | number | undefined | null;
export type CallArgs = Record<string, ArgValue>;

export interface TrackerClientOptions {
  /** "host:port" of each tracker. */
  trackers: string[];
  /** Time allowed to open a TCP connection to a tracker, ms (default 3000). */
  connectTimeoutMs?: number;
  /** Time allowed for a tracker to answer one request, ms (default 10000). */
  timeoutMs?: number;
  /** Persistent connections kept per tracker (default 8). */
  poolSize?: number;
  /** How long a tracker that failed is skipped, ms (default 5000, as the Perl client). */
  deadRetryMs?: number;
  /**
   * Try trackers in the order given (primary first) instead of from a random
   * one, which the Perl client does to spread clients over trackers.
   */
  ordered?: boolean;
}

export interface CallOptions {
  /** Override the request timeout for this call (e.g. create_close verifying a big file). */
  timeoutMs?: number;
  /** Safe to send again to another tracker after a failure mid-request (default: by command). */
  idempotent?: boolean;
}

/**
 * Commands that change nothing (or, for create_open, whose half-done effect is
 * an orphan tempfile row the reaper removes), so a request that may already
 * have reached a tracker that then failed can be sent again to the next one.
 */
const RETRYABLE = new Set([
  'noop', 'get_paths', 'get_domains', 'get_hosts', 'get_devices', 'list_keys', 'list_fids',
  'file_info', 'file_debug', 'server_setting', 'server_settings', 'stats', 'fsck_status',
  'fsck_getlog', 'rebalance_status', 'rebalance_test', 'create_open', 'clear_cache',
]);

export class TrackerClient {
  readonly trackers: readonly string[];
  private readonly pools: TrackerPool[];
  private readonly timeoutMs: number;
  private readonly deadRetryMs: number;
  /** Where this client starts looking: random per client, to spread clients over trackers. */
  private readonly start: number;
  private closed = false;
  /** "host:port" of the tracker that answered the last request. */
  lastTracker: string | null = null;

  constructor(opts: TrackerClientOptions) {
    if (!Array.isArray(opts.trackers) || opts.trackers.length === 0) {
      throw new MogError('invalid_trackers', 'no trackers given: pass at least one "host:port" (e.g. --trackers 127.0.0.1:7001)');
    }
    const connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.deadRetryMs = opts.deadRetryMs ?? 5000;
    try {
      this.pools = opts.trackers.map((t) => new TrackerPool(t, opts.poolSize ?? 8, connectTimeoutMs));
    } catch (e) {
      throw new MogError('invalid_trackers', (e as Error).message);
    }
    this.trackers = this.pools.map((p) => p.addr);
    this.start = opts.ordered ? 0 : Math.floor(Math.random() * this.pools.length);
  }

  /**
   * Run one tracker command. Resolves with the reply's args; an `ERR` reply
   * throws MogError(code, text) with the tracker's code unchanged.
   */
  async call(command: string, args: CallArgs = {}, opts: CallOptions = {}): Promise<Args> {
    if (this.closed) throw new MogError('client_closed', `tracker client was closed; cannot send ${command}`);
    if (!/^[A-Za-z0-9_]+$/.test(command)) {
      throw new MogError('unknown_command', `invalid command name "${command}": only letters, digits and _`);
    }
    const line = formatRequest(command, args);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const retryable = opts.idempotent ?? RETRYABLE.has(command.toLowerCase());
    const failures: TrackerNetworkError[] = [];

    for (const pool of this.order()) {
      let conn;
      try {
        conn = await pool.acquire(timeoutMs);
      } catch (e) {
        const err = asNetworkError(e);
        // A tracker whose connections are all busy is alive; one we cannot connect to is not.
        if (!err.busy) pool.markDead(this.deadRetryMs);
        failures.push(err);
        continue;
      }
      let replyLine: string;
      try {
        replyLine = await conn.request(line, timeoutMs);
      } catch (e) {
        pool.release(conn);
        const err = asNetworkError(e);
        pool.markDead(this.deadRetryMs);
        failures.push(err);
        if (!err.sent || retryable) continue;
        if (err.timeout) {
          throw new MogError('tracker_timeout', `${err.message} to ${command}; it may still have run: check before retrying`);
        }
        throw new MogError('tracker_io', `${err.message} during ${command}; it may or may not have run: check before retrying`);
      }
      const reply = parseReply(replyLine);
      if (!reply.ok && reply.code === 'bad_reply') conn.destroy('unrecognised reply');
      pool.release(conn);
      pool.markAlive();
      this.lastTracker = pool.addr;
      if (reply.ok) return reply.args;
      throw new MogError(reply.code, reply.message);
    }

    const detail = failures.map((f) => f.message).join('; ');
    if (failures.length > 0 && failures.every((f) => f.timeout)) {
      throw new MogError('tracker_timeout', `no tracker answered ${command} in time (${detail}): check that mogilefsd is not overloaded`);
    }
    throw new MogError('no_tracker', `no tracker reachable at ${this.trackers.join(', ')}: start mogilefsd or check --trackers (${detail})`);
  }

  /** Close every pooled connection; later calls fail with client_closed. */
  close(): void {
    this.closed = true;
    for (const p of this.pools) p.close();
  }

  /** Open connections per tracker (diagnostics and tests). */
  connectionCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.pools) out[p.addr] = p.size;
    return out;
  }

  /** Trackers to try in turn: live ones from this client's start point, then those marked dead as a last resort. */
  private order(): TrackerPool[] {
    const now = Date.now();
    const rotated = this.pools.slice(this.start).concat(this.pools.slice(0, this.start));
    return rotated.filter((p) => !p.isDead(now)).concat(rotated.filter((p) => p.isDead(now)));
  }
}

function asNetworkError(e: unknown): TrackerNetworkError {
  if (e instanceof TrackerNetworkError) return e;
  return new TrackerNetworkError((e as Error)?.message ?? String(e), true);
}
