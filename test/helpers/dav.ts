/**
 * `mogfs dav` as a child process for tests (the test process may host the
 * cluster and must stay free to answer it), waited for until it prints its
 * URL, and always stopped. `dav()` starts one; `stopAllDav()` is the
 * after() safety net.
 *
 *   const d = await dav(c.trackers, { domain: 'default' });
 *   await fetch(d.url + 'a.txt', { method: 'PUT', body: 'x' });
 *   await d.stop();
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cliEnv, MOGFS, terminateChild, waitForStdout } from './cli';

export interface Dav {
  /** Base URL, ending in '/'. */
  url: string;
  port: number;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export interface DavOptions {
  domain?: string;
  prefix?: string;
  cacheTime?: number;
  args?: string[];
}

const live = new Set<Dav>();

export async function stopAllDav(): Promise<void> {
  await Promise.all([...live].map((d) => d.stop()));
}

export async function dav(trackers: string[], opts: DavOptions = {}): Promise<Dav> {
  const args = ['dav', '--trackers', trackers.join(','), '--port', '0', '--cache-time', String(opts.cacheTime ?? 1)];
  if (opts.domain) args.push('--domain', opts.domain);
  if (opts.prefix) args.push('--prefix', opts.prefix);
  args.push(...(opts.args ?? []));
  const proc = spawn(process.execPath, [MOGFS, ...args], { env: await cliEnv({ MOGFS_LOG_LEVEL: 'warn' }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  let stopping: Promise<void> | null = null;
  const d: Dav = {
    url: '',
    port: 0,
    proc,
    log: () => stderr,
    stop: () => {
      live.delete(d);
      stopping ??= terminateChild(proc);
      return stopping;
    },
  };
  live.add(d);
  try {
    d.url = (await waitForStdout(proc, / at (https?:\/\/\S+\/)\n/, 'mogfs dav', () => stderr)).match[1];
  } catch (e) {
    await d.stop();
    throw e;
  }
  d.port = Number(new URL(d.url).port);
  return d;
}
