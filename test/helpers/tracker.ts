/**
 * Tracker test helpers: a tracker in-process on a given store (127.0.0.1,
 * ephemeral port, workers off unless asked), and a raw line client that
 * sends exact request lines and reads exact reply lines.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/common/log';
import { formatRequest, parseReply } from '../../src/protocol';
import type { Reply } from '../../src/protocol';
import type { MetadataStore } from '../../src/store';
import { startStorageNode } from '../../src/storage';
import type { StorageNode, StorageNodeOptions } from '../../src/storage';
import { startTracker } from '../../src/tracker';
import type { Tracker, TrackerConfig } from '../../src/tracker';

export async function startTestTracker(
  store: MetadataStore,
  opts: { workers?: boolean; config?: Partial<TrackerConfig> } = {},
): Promise<Tracker> {
  return startTracker({
    store,
    config: { host: '127.0.0.1', port: 0, ...opts.config },
    log: createLogger('test-tracker', process.env.MOGFS_LOG_LEVEL ?? 'silent'),
    workers: opts.workers ?? false,
  });
}

/** A raw connection to a tracker: write lines, read reply lines (without CRLF). */
export class LineClient {
  private buf = '';
  private readonly lines: string[] = [];
  private waiters: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  private ended: Error | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).replace(/\r$/, '');
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w.resolve(line);
        else this.lines.push(line);
      }
    });
    const fail = (e: Error): void => {
      this.ended = e;
      for (const w of this.waiters.splice(0)) w.reject(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by tracker')));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => {
        s.off('error', reject);
        resolve(new LineClient(s));
      });
      s.once('error', reject);
    });
  }

  /** The next reply line, waiting up to `timeoutMs`. */
  readLine(timeoutMs = 10000): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no reply line within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (line: string): void => {
        clearTimeout(t);
        resolve(line);
      };
      this.waiters.push({ resolve: done, reject: (e) => { clearTimeout(t); reject(e); } });
    });
  }

  /** Write raw bytes or text as is (no line ending added). */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Send one request line (CRLF added) and return the reply line. */
  async send(line: string): Promise<string> {
    this.socket.write(line + '\r\n');
    return this.readLine();
  }

  /** Send `cmd` with args encoded as stock clients do, and parse the reply. */
  async request(cmd: string, args: Record<string, string | number | undefined> = {}): Promise<Reply> {
    this.socket.write(formatRequest(cmd, args));
    return parseReply(await this.readLine());
  }

  /** Like request(), but throws on ERR; returns the OK args. */
  async ok(cmd: string, args: Record<string, string | number | undefined> = {}): Promise<Record<string, string>> {
    const r = await this.request(cmd, args);
    if (!r.ok) throw new Error(`${cmd} failed: ${r.code} ${r.message}`);
    return r.args;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Decodes an `OK ...` line's args (order-insensitive comparison in tests). */
export function okArgs(line: string): Record<string, string> {
  const r = parseReply(line);
  if (!r.ok) throw new Error(`expected OK, got: ${line}`);
  return { ...r.args };
}

/** Storage nodes started for a tracker test, registered as hosts stor1..N with devices. */
export interface TestCluster {
  nodes: StorageNode[];
  /** devid -> { hostname, url base } */
  devices: Map<number, { hostname: string; hostid: number }>;
  close(): Promise<void>;
}

/**
 * Starts `hosts` storage nodes on 127.0.0.1, 127.0.0.2, ... (the original
 * schema wants one IP per host), each with `devsPerHost` devices, and
 * registers them through `c` the way mogadm does (create_host alive,
 * create_device). Devices are numbered 1.. in host order. Nodes have no
 * side channel unless `nodeOptions` (by host number, from 1) says otherwise.
 */
export async function startTestCluster(
  c: LineClient, hosts = 2, devsPerHost = 2, nodeOptions: (host: number) => Partial<StorageNodeOptions> = () => ({}),
): Promise<TestCluster> {
  const nodes: StorageNode[] = [];
  const dirs: string[] = [];
  const devices = new Map<number, { hostname: string; hostid: number }>();
  let devid = 0;
  try {
    for (let h = 1; h <= hosts; h++) {
      const docroot = await fs.mkdtemp(path.join(os.tmpdir(), `mogfs-trk-stor${h}-`));
      dirs.push(docroot);
      const devids: number[] = [];
      for (let d = 0; d < devsPerHost; d++) {
        devids.push(++devid);
        await fs.mkdir(path.join(docroot, `dev${devid}`));
      }
      const node = await startStorageNode({
        docroot,
        host: `127.0.0.${h}`,
        httpPort: 0,
        mgmtPort: null,
        log: createLogger('test-storage', process.env.MOGFS_LOG_LEVEL ?? 'silent'),
        ...nodeOptions(h),
      });
      nodes.push(node);
      const created = await c.ok('create_host', { host: `stor${h}`, ip: node.host, port: node.httpPort, status: 'alive' });
      for (const id of devids) {
        await c.ok('create_device', { hostname: `stor${h}`, devid: id, state: 'alive' });
        devices.set(id, { hostname: `stor${h}`, hostid: Number(created.hostid) });
      }
    }
  } catch (err) {
    for (const n of nodes) await n.close();
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
    throw err;
  }
  return {
    nodes,
    devices,
    async close() {
      for (const n of nodes) await n.close();
      for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
    },
  };
}
