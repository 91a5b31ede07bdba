/**
 * Spawning the compiled `mogfs` the way a user runs it, for the tools and
 * import tests: asynchronously (the cluster under test runs in this same
 * process), with a private HOME and none of the caller's MOGFS_* settings,
 * so only what a test passes is configured.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { rmSync } from 'node:fs';

/** The compiled CLI next to this compiled file's tree. */
export const MOGFS = path.resolve(__dirname, '..', '..', 'src', 'cli', 'mogfs.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

export interface RunOptions {
  input?: Buffer | string;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

let home: string | null = null;

/** An empty HOME for every spawned mogfs, so no ~/.mogilefs.conf of the machine leaks in. */
export async function privateHome(): Promise<string> {
  if (!home) {
    const made = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-home-'));
    home = made;
    // Test files that never call removePrivateHome still leave nothing behind.
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return home;
}

export async function removePrivateHome(): Promise<void> {
  if (home) await fs.rm(home, { recursive: true, force: true });
  home = null;
}

export async function cliEnv(extra: Record<string, string | undefined> = {}): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: await privateHome(), MOGFS_LOG_LEVEL: 'silent' };
  for (const k of ['MOGFS_TRACKERS', 'MOGFS_DOMAIN', 'MOGFS_CLASS', 'MOGUTILSCONF']) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function spawnMogfs(args: string[], env: NodeJS.ProcessEnv, cwd?: string): ChildProcess {
  return spawn(process.execPath, [MOGFS, ...args], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Run mogfs to completion (bounded: a hung tool fails the test instead of hanging it). */
export async function runMogfs(args: string[], opts: RunOptions = {}, timeoutMs = 60_000): Promise<RunResult> {
  const child = spawnMogfs(args, await cliEnv(opts.env), opts.cwd);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  child.stdin?.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('close', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  const stdoutBytes = Buffer.concat(out);
  return { code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8') };
}

/** A 127.0.0.1 port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** SIGTERM (as Ctrl-C would), SIGKILL after `graceMs`; resolves once the process has exited. */
export async function terminateChild(proc: ChildProcess, graceMs = 20_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/**
 * Resolves to the first match of `line` in what `proc` prints on stdout
 * (`out()` accumulates it); rejects when it exits first or after 30 s.
 */
export function waitForStdout(proc: ChildProcess, line: RegExp, what: string, stderr: () => string): Promise<{ match: RegExpExecArray; out: () => string }> {
  let stdout = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not come up in 30 s; stderr: ${stderr()}`)), 30_000);
    proc.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
      const m = line.exec(stdout);
      if (m) {
        clearTimeout(t);
        resolve({ match: m, out: () => stdout });
      }
    });
    proc.once('exit', (code, sig) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${sig ?? code}) before it was ready; stderr: ${stderr()}`));
    });
  });
}
