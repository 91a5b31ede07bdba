/**
 * The original's IOStatWatcher: a `watch` on each storage host's side
 * channel (port 7501, or the one its usage file advertises) reports every
 * device's I/O utilization once a second, as `<devid> <util>` lines ended
 * by `.`. Kept in ctx.utilization: get_devices reports it (mogadm check's
 * I/O% column), and get_paths offers copies on idle devices first
 * (select.ts, the original's sort_devs_by_utilization). A host that cannot
 * be reached is tried again after a while; one that hangs up, at once.
 */
import net from 'node:net';
import type { TrackerContext } from '../context';
import { deviceMap } from './devices';
import type { WorkerEnv } from './env';

/** The original's side channel port, for storage nodes that advertise none (stock mogstored). */
const DEFAULT_SIDECHANNEL_PORT = 7501;
/** How often the set of hosts to watch is brought up to date, ms. */
const REFRESH_MS = 2000;
/** After an error, how long before a host is tried again, ms (the original: 60 s). */
const RETRY_AFTER_MS = 10_000;
/** A report is believed this long, ms; then the device's utilization is unknown again. */
export const UTILIZATION_TTL_MS = 5000;
/** A line longer than this is not a watch report. */
const MAX_BUFFER = 64 * 1024;

export type UtilizationMap = Map<number, { util: number; at: number }>;

/** The device's utilization in percent when a fresh report has it, else null. */
export function freshUtilization(map: UtilizationMap | undefined, devid: number, now = Date.now()): number | null {
  const u = map?.get(devid);
  return u && now - u.at <= UTILIZATION_TTL_MS ? u.util : null;
}

/** Parses what a watch connection sent so far: the complete reports, and the unfinished one's text. */
export function parseReports(buffer: string): { reports: Array<Map<number, number>>; rest: string } {
  const reports: Array<Map<number, number>> = [];
  let current = new Map<number, number>();
  let start = 0;
  let blockStart = 0;
  for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n', start)) {
    const line = buffer.slice(start, nl).trim();
    start = nl + 1;
    if (line === '.') {
      reports.push(current);
      current = new Map();
      blockStart = start;
      continue;
    }
    const m = /^(\d+)\s+(\d+(?:\.\d+)?)$/.exec(line);
    if (m) current.set(Number(m[1]), Math.min(100, Number(m[2])));
  }
  return { reports, rest: buffer.slice(blockStart) };
}

class HostWatch {
  private socket: net.Socket | null = null;
  private buffer = '';
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly host: string, private readonly port: number, private readonly into: UtilizationMap) {
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    const socket = net.connect({ host: this.host, port: this.port });
    this.socket = socket;
    this.buffer = '';
    let active = false;
    socket.setEncoding('latin1');
    socket.unref();
    socket.on('connect', () => {
      active = true;
      socket.write('watch\r\n');
    });
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      if (/^ERR\b/.test(this.buffer) || this.buffer.length > MAX_BUFFER) {
        socket.destroy();
        return;
      }
      const { reports, rest } = parseReports(this.buffer);
      this.buffer = rest;
      const now = Date.now();
      for (const stats of reports) for (const [devid, util] of stats) this.into.set(devid, { util, at: now });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket !== socket || this.closed) return;
      this.socket = null;
      // Hung up after watching: at once again (but not in a tight loop); never got going: after a while.
      this.retry = setTimeout(() => this.connect(), active ? 1000 : RETRY_AFTER_MS);
      this.retry.unref();
    });
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.socket?.destroy();
    this.socket = null;
  }
}

export interface IoStatWatcher {
  close(): void;
}

/** Hosts to watch now: those holding a device the monitor may look at, at the port their node advertises. */
async function targets(ctx: TrackerContext): Promise<Map<string, { host: string; port: number }>> {
  const out = new Map<string, { host: string; port: number }>();
  for (const d of deviceMap(await ctx.layout(), ctx.observed).values()) {
    if (d.status === 'dead' || d.hostStatus === 'dead' || d.hostStatus === 'down' || !d.observed?.reachable) continue;
    const port = d.observed.sidechannelPort ?? DEFAULT_SIDECHANNEL_PORT;
    out.set(`${d.hostip}:${port}`, { host: d.hostip, port });
  }
  return out;
}

export function startIoStatWatcher(env: WorkerEnv): IoStatWatcher {
  const { ctx } = env;
  const watches = new Map<string, HostWatch>();
  let closed = false;
  const refresh = async (): Promise<void> => {
    let want: Map<string, { host: string; port: number }>;
    try {
      want = await targets(ctx);
    } catch (err) {
      env.log.debug({ err }, 'iostat: reading the layout failed; trying again later');
      return;
    }
    if (closed) return;
    for (const [key, w] of watches) {
      if (!want.has(key)) {
        w.close();
        watches.delete(key);
      }
    }
    for (const [key, t] of want) if (!watches.has(key)) watches.set(key, new HostWatch(t.host, t.port, ctx.utilization));
  };
  void refresh();
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  timer.unref();
  return {
    close(): void {
      closed = true;
      clearInterval(timer);
      for (const w of watches.values()) w.close();
      watches.clear();
    },
  };
}
