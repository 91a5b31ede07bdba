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
import { cliEnv, MOGFS } from './cli';

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
  let stdout = '';
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  let stopping: Promise<void> | null = null;
  const d: Dav = {
    url: '',
    port: 0,
    proc,
    log: () => stderr,
    stop: () => {
      stopping ??= (async () => {
        live.delete(d);
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(t);
      })();
      return stopping;
    },
  };
  live.add(d);
  try {
    d.url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`mogfs dav did not come up in 30 s; stderr: ${stderr}`)), 30_000);
      proc.stdout?.on('data', (b: Buffer) => {
        stdout += b.toString();
        const m = / at (https?:\/\/\S+\/)\n/.exec(stdout);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
      proc.once('exit', (code, sig) => {
        clearTimeout(t);
        reject(new Error(`mogfs dav exited (${sig ?? code}) before serving; stderr: ${stderr}`));
      });
    });
  } catch (e) {
    await d.stop();
    throw e;
  }
  d.port = Number(new URL(d.url).port);
  return d;
}
