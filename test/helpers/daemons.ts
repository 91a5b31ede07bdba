/**
 * Test helpers for the daemons as real processes: spawn mogilefsd or
 * mogstored from the compiled tree, wait for the `listening` line, read their
 * logs, scrape their metrics endpoint.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';

export interface Daemon {
  child: ChildProcess;
  /** The `... listening ...` line from stdout. */
  ready: Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Spawns `node dist/src/cli/<name>.js args` with logs at info (so tests can read them) unless env says otherwise. */
export function spawnDaemon(name: 'mogilefsd' | 'mogstored', args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const cli = path.resolve(__dirname, '..', '..', 'src', 'cli', `${name}.js`);
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, MOGFS_LOG_LEVEL: 'info', ...env };
  delete fullEnv.MOGFS_LOG_PRETTY;
  if (env.MOGFS_LOG_PRETTY !== undefined) fullEnv.MOGFS_LOG_PRETTY = env.MOGFS_LOG_PRETTY;
  const child = spawn(process.execPath, [cli, ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} printed no listening line in 20 s; stderr: ${err}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes(' listening '));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening; stderr: ${err}`));
    });
  });
  ready.catch(() => undefined);
  return { child, ready, exit, stderr: () => err };
}

/** SIGTERM, then the exit; kills it for good if it does not go within 10 s (and says so by the result). */
export async function terminate(d: Daemon): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return d.exit;
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 10_000);
  try {
    return await d.exit;
  } finally {
    clearTimeout(timer);
  }
}

/** The JSON log records among stderr's lines (lines that are not JSON are skipped). */
export function jsonLogs(stderr: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut short: not a record
    }
  }
  return out;
}

export function httpGet(url: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
      })
      .on('error', reject);
  });
}

/** Value of one sample in Prometheus text, `name{a="b",...}`; 0 when the series is absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels);
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const p of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(p[1], p[2]);
    if (want.every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return 0;
}

/** Whether a series with these labels is present at all. */
export function hasSample(text: string, name: string, labels: Record<string, string> = {}): boolean {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text.split('\n').some((l) => (l.startsWith(name + '{') || l.startsWith(name + ' ')) && want.every((w) => l.includes(w)));
}
