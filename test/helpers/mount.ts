/**
 * Real FUSE mounts for tests: `mogfs mount` as a child process (never served
 * from the test process, which may host the cluster and must stay free to
 * answer it), waited for until it says it is mounted, and always unmounted
 * and stopped, even when a test fails. Shell tools run through `sh()`,
 * asynchronously for the same reason.
 *
 *   const m = await mountCluster(c, { domain: 'default' });
 *   await sh('cp', ['-a', src, m.dir]);
 *   await m.stop();
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MogError } from '../../src/client';
import { fuseProblem } from '../../src/fuse';
import { cliEnv, MOGFS, terminateChild, waitForStdout } from './cli';
import { inCI } from './engines';

/** Why mount tests cannot run here (null when they can); with CI=true an unusable FUSE is a failure, not a skip. */
export async function mountSkipReason(): Promise<string | null> {
  const problem = await fuseProblem();
  if (problem && inCI()) throw new Error(`FUSE is unusable and CI must test the mount: ${problem}`);
  return problem;
}

export interface Mount {
  /** The mount point. */
  dir: string;
  proc: ChildProcess;
  /** What the mount process wrote to stderr so far (its log). */
  log(): string;
  /** What the mount process wrote to stdout so far (its `mogfs mounted ...` line). */
  output(): string;
  /** Unmounts (SIGTERM, as Ctrl-C would) and removes the mount point; safe to call twice. */
  stop(): Promise<void>;
}

export interface MountOptions {
  domain?: string;
  prefix?: string;
  /** --cache-time in seconds (default 1). */
  cacheTime?: number;
  args?: string[];
  /** Mount here instead of a new temp dir. */
  dir?: string;
}

const live = new Set<Mount>();

/** Stops every mount a test file left running (call from an after() hook as a safety net). */
export async function stopAllMounts(): Promise<void> {
  await Promise.all([...live].map((m) => m.stop()));
}

export async function mount(trackers: string[], opts: MountOptions = {}): Promise<Mount> {
  const dir = opts.dir ?? await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-mnt-'));
  const args = ['mount', '--trackers', trackers.join(','), '--cache-time', String(opts.cacheTime ?? 1)];
  if (opts.domain) args.push('--domain', opts.domain);
  if (opts.prefix) args.push('--prefix', opts.prefix);
  args.push(...(opts.args ?? []), dir);
  const proc = spawn(process.execPath, [MOGFS, ...args], { env: await cliEnv({ MOGFS_LOG_LEVEL: 'warn' }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let output = (): string => '';
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  let stopping: Promise<void> | null = null;
  const m: Mount = {
    dir,
    proc,
    log: () => stderr,
    output: () => output(),
    stop: () => {
      stopping ??= (async () => {
        live.delete(m);
        await terminateChild(proc);
        // A killed mount process leaves a dead mount behind: clear it.
        await run('fusermount', ['-u', '-z', dir]).catch(() => undefined);
        if (!opts.dir) await fs.rmdir(dir).catch(() => undefined);
      })();
      return stopping;
    },
  };
  live.add(m);
  try {
    output = (await waitForStdout(proc, /mogfs mounted/, 'mogfs mount', () => stderr)).out;
  } catch (e) {
    await m.stop();
    throw e;
  }
  return m;
}

export interface ShResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion without blocking this process; rejects on a non-zero exit unless `allowFail`. */
export function sh(cmd: string, args: string[], opts: { cwd?: string; allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ShResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024, env: opts.env }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      const r = { code, stdout: String(stdout), stderr: String(stderr) };
      if (err && !opts.allowFail) reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? (err as Error).message}):\n${r.stderr}${r.stdout}`));
      else resolve(r);
    });
  });
}

function run(cmd: string, args: string[]): Promise<ShResult> {
  return sh(cmd, args, { timeoutMs: 10_000 });
}

/** The shared suites: the workplace's copy when present (newest), else the one kept in test/suites. */
export async function suite(name: string): Promise<string> {
  const repo = path.resolve(__dirname, '..', '..', '..');
  for (const p of [path.resolve(repo, '..', 'shared', 'suites', name), path.join(repo, 'test', 'suites', name)]) {
    try {
      await fs.access(p);
      return p;
    } catch { /* next */ }
  }
  throw new Error(`suite ${name} not found (test/suites/${name})`);
}

/** Resolves true when `lookup` fails with unknown_key (the key is gone), false when it succeeds. */
export async function keyGone(lookup: Promise<unknown>): Promise<boolean> {
  try {
    await lookup;
    return false;
  } catch (e) {
    if (e instanceof MogError && e.code === 'unknown_key') return true;
    throw e;
  }
}
