/**
 * Test helpers for the storage node: an in-process mogstored on a temp
 * docroot with N device directories, a raw HTTP request (exact bytes on the
 * wire, so traversal spellings reach the server unnormalised), and a side
 * channel client.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startStorageNode, type HttpTimeouts, type StorageNode } from '../../src/storage';
import { createLogger } from '../../src/common/log';

export interface TestStorage {
  node: StorageNode;
  docroot: string;
  devids: number[];
  /** `http://host:port` */
  baseUrl: string;
  cleanup(): Promise<void>;
}

export interface TestStorageOptions {
  /** Device ids to create (default [1, 2]), or a count (1..N). */
  devices?: number[] | number;
  host?: string;
  /** Open the side channel (default true). */
  mgmt?: boolean;
  usageIntervalMs?: number;
  /** fsync uploads before renaming them into place. */
  fsync?: boolean;
  /** Use this docroot instead of a fresh temp dir (left in place by cleanup). */
  docroot?: string;
  /** HTTP timeouts (ms) over the node's defaults. */
  timeouts?: Partial<HttpTimeouts>;
}

export async function startTestStorage(opts: TestStorageOptions = {}): Promise<TestStorage> {
  const devids = typeof opts.devices === 'number'
    ? Array.from({ length: opts.devices }, (_, i) => i + 1)
    : opts.devices ?? [1, 2];
  const ownDir = opts.docroot === undefined;
  const docroot = opts.docroot ?? (await mkdtemp(path.join(os.tmpdir(), 'mogfs-storage-')));
  for (const d of devids) await mkdir(path.join(docroot, `dev${d}`), { recursive: true });
  const node = await startStorageNode({
    docroot,
    host: opts.host ?? '127.0.0.1',
    httpPort: 0,
    mgmtPort: opts.mgmt === false ? null : 0,
    usageIntervalMs: opts.usageIntervalMs,
    fsync: opts.fsync,
    timeouts: opts.timeouts,
    log: createLogger('mogstored-test'),
  });
  return {
    node,
    docroot,
    devids,
    baseUrl: `http://${node.host}:${node.httpPort}`,
    cleanup: async () => {
      await node.close();
      if (ownDir) await rm(docroot, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Send exactly `head` (request line + headers, without the blank line) and
 * `body`, with Connection: close, and parse the reply. For HEAD, pass
 * `noBody` so the Content-Length isn't waited for.
 */
export function rawHttp(port: number, head: string, body: Buffer | string = '', host = '127.0.0.1', noBody = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const all = Buffer.concat(chunks);
      const sep = all.indexOf('\r\n\r\n');
      if (sep < 0) return reject(new Error(`no HTTP reply: ${JSON.stringify(all.toString('latin1'))}`));
      const lines = all.subarray(0, sep).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(lines[0])?.[1]);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status, headers, body: noBody ? Buffer.alloc(0) : all.subarray(sep + 4) });
    });
    sock.write(`${head}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    // No half-close: a server may rightly treat EOF as an aborted request.
    sock.write(body);
  });
}

/** A side channel connection: `ask` sends one line and resolves with the next reply line. */
export interface SideChannelClient {
  ask(line: string): Promise<string>;
  /** Resolves with everything received until `until` matches the buffered text. */
  readUntil(until: RegExp): Promise<string>;
  send(raw: string): void;
  close(): void;
}

export async function connectSideChannel(port: number, host = '127.0.0.1'): Promise<SideChannelClient> {
  const sock = net.connect(port, host);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.setEncoding('latin1');
  let buf = '';
  let waiter: (() => void) | null = null;
  sock.on('data', (c: string) => {
    buf += c;
    waiter?.();
  });
  const readUntil = (until: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`side channel: no reply matching ${until} (have ${JSON.stringify(buf)})`)), 10_000);
      const check = (): void => {
        const m = until.exec(buf);
        if (!m) return;
        const end = m.index + m[0].length;
        const out = buf.slice(0, end);
        buf = buf.slice(end);
        waiter = null;
        clearTimeout(timer);
        resolve(out);
      };
      waiter = check;
      check();
    });
  return {
    ask: async (line) => {
      sock.write(line + '\r\n');
      return (await readUntil(/\r?\n/)).replace(/\r?\n$/, '');
    },
    readUntil,
    send: (raw) => void sock.write(raw),
    close: () => sock.destroy(),
  };
}
