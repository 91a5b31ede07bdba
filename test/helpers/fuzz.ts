/**
 * Fuzzing aids: a seeded random source with the picks the generators need,
 * a process's open descriptor count, and many raw connections that say
 * little or nothing (slow clients, floods), each noticing when the server
 * hangs up.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import { seededRandom } from './random';

export class Rng {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** Printable ASCII, no spaces. */
  word(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(33 + this.int(94));
    return s;
  }
}

/** Open descriptors of a process (Linux /proc). */
export async function fdCount(pid: number): Promise<number> {
  return (await fs.readdir(`/proc/${pid}/fd`)).length;
}

export interface Idlers {
  sockets: net.Socket[];
  /** How many the server has closed so far. */
  closed(): number;
  destroy(): void;
}

/** `n` connections to host:port, each sending `first` (maybe nothing) and then going quiet. */
export async function openIdle(port: number, host: string, n: number, first: (i: number) => string | Buffer = () => ''): Promise<Idlers> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  await Promise.all(Array.from({ length: n }, (_, i) => new Promise<void>((resolve, reject) => {
    const s = net.connect(port, host, () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      const data = first(i);
      if (data.length > 0) s.write(data);
      resolve();
    });
    // Whatever comes back is thrown away, so the server's hang-up is seen.
    s.resume();
    s.once('close', () => closed++);
    s.once('error', reject);
    sockets.push(s);
  })));
  return { sockets, closed: () => closed, destroy: () => sockets.forEach((s) => s.destroy()) };
}

/** Send raw bytes on a fresh connection; resolve with what came back until the server closed or `ms` passed. */
export function exchange(port: number, host: string, data: Buffer[], ms: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, host, () => {
      for (const d of data) s.write(d);
    });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(done, ms);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', done);
    s.on('close', done);
  });
}
