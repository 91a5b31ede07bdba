/**
 * What every mogadm verb works with: the trackers to talk to, the admin
 * client, stdout, and the original's way of ending — `ok` (silent unless
 * --verbose, exit 0) or `fail` (one line on stderr, exit 1).
 */
import { MogileFSAdmin, MogError } from '../../client';

/** Thrown to end mogadm with a message on stderr and a non-zero exit. */
export class MogadmFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'MogadmFailure';
    this.exitCode = exitCode;
  }
}

export function fail(message: string): never {
  throw new MogadmFailure(message);
}

/** Codes our client raises itself (no tracker answered), as opposed to a tracker's ERR reply. */
const CLIENT_SIDE = new Set(['no_tracker', 'tracker_timeout', 'tracker_io', 'invalid_trackers', 'client_closed', 'bad_reply']);

/**
 * The text after "Error creating domain: " and the like. For a tracker's ERR
 * reply it is "<code> <text>", as MogileFS::Admin's errstr gives it, so
 * scripts that grep for the code keep working.
 */
export function errstr(e: unknown): string {
  if (e instanceof MogError) return CLIENT_SIDE.has(e.code) ? e.message : `${e.code} ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** The tracker answered, but does not run this job (yet): fsck and rebalance on trackers without them. */
export function isNotImplemented(e: unknown): boolean {
  return e instanceof MogError && (e.code === 'not_implemented' || e.code === 'unknown_command');
}

export interface SessionOptions {
  trackers: string[];
  verbose: boolean;
  timeoutMs: number;
  write?: (text: string) => void;
}

export class Session {
  readonly trackers: string[];
  readonly verbose: boolean;
  readonly timeoutMs: number;
  private readonly write: (text: string) => void;
  private client: MogileFSAdmin | null = null;
  private readonly opened: MogileFSAdmin[] = [];

  constructor(opts: SessionOptions) {
    this.trackers = opts.trackers;
    this.verbose = opts.verbose;
    this.timeoutMs = opts.timeoutMs;
    this.write = opts.write ?? ((t) => process.stdout.write(t));
  }

  /** The admin client over all trackers, made on first use. */
  get admin(): MogileFSAdmin {
    if (!this.client) this.client = this.adminFor(this.trackers);
    return this.client;
  }

  /** An admin client over some trackers (mogadm check asks each tracker on its own); closed with the session. */
  adminFor(trackers: string[]): MogileFSAdmin {
    let a: MogileFSAdmin;
    try {
      a = new MogileFSAdmin({ trackers, timeoutMs: this.timeoutMs });
    } catch (e) {
      fail(`Unable to access MogileFS tracker(s): ${errstr(e)}`);
    }
    this.opened.push(a);
    return a;
  }

  print(text: string): void {
    this.write(text);
  }

  line(text = ''): void {
    this.write(`${text}\n`);
  }

  /** The original prints its success message only with --verbose. */
  ok(message?: string): void {
    if (this.verbose && message) this.line(message);
  }

  close(): void {
    for (const a of this.opened) a.close();
  }
}

/** The original's canned failure texts, shortened to one line each. */
export const TEXT = {
  no_hosts: 'Unable to retrieve host information from tracker(s).',
  no_devices: 'No devices found on tracker(s).',
  no_domains: 'Unable to retrieve domains from tracker(s).',
  host_add_no_ip:
    "Hostname does not resolve to an IP, and you didn't specify one: verify the host resolves, or try again with mogadm host add <hostname> --ip=<ipaddr> [...]",
  no_trackers:
    'In order to use mogadm you need to say where your trackers are: put "trackers = 10.10.0.33:7001, 10.10.0.34:7001" in ~/.mogilefs.conf or /etc/mogilefs/mogilefs.conf, or run mogadm --trackers=10.10.0.33:7001,10.10.0.34:7001 ...',
} as const;

/**
 * A failure that says what went wrong and why ("Error creating domain:
 * <code> <text>"); a failure already decided on (such as an unusable
 * --trackers value) passes through unchanged.
 */
export function failWith(text: string, e: unknown): never {
  if (e instanceof MogadmFailure) throw e;
  fail(text ? `${text.replace(/\.$/, '')}: ${errstr(e)}` : errstr(e));
}
