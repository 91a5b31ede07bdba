// The patched fuse-native binding on a real mount: a child process serves
// test/fixtures/fuse-memfs.ts; this process only touches the mount through
// async fs calls and real tools (touch, dd), checking µs times, UTIME_OMIT,
// UTIME_NOW, big writes, unmounting, and that a rejected option leaves no
// mount. Skipped only where FUSE is unusable and CI is unset.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fuseProblem } from '../src/fuse/binding';

const execFileP = promisify(execFile);
const fixture = path.join(__dirname, 'fixtures', 'fuse-memfs.js');
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const MOUNT_OPTIONS = ['big_writes', 'max_write=131072', 'fsname=mogfs', 'subtype=mogfs',
  'atomic_o_trunc', 'default_permissions', 'allow_other'];

interface Served {
  proc: ChildProcess;
  /** Asks the fixture for the write sizes it has seen. */
  stats(): Promise<{ writes: number; maxWrite: number; minWrite: number }>;
  output(): string;
}

function serve(mnt: string, options: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [fixture, mnt, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const waiters: Array<(line: string) => void> = [];
  proc.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const lines = createInterface({ input: proc.stdout! });
  const served: Served = {
    proc,
    output: () => output,
    stats: () => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no stats from the fixture: ${output}`)), 10_000);
      waiters.push((line) => { clearTimeout(timer); resolve(JSON.parse(line)); });
      proc.stdin!.write('stats\n');
    }),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`fixture not mounted within 20 s: ${output}`));
    }, 20_000);
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (line === 'ready') { clearTimeout(timer); resolve(served); return; }
      waiters.shift()?.(line);
    });
    proc.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`fixture exited (${code ?? sig}) before ready: ${output}`)); });
  });
}

async function isMounted(mnt: string): Promise<boolean> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[1] === mnt);
}

function exited(proc: ChildProcess, ms: number): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    proc.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

async function unmountAndStop(mnt: string, proc: ChildProcess | null): Promise<void> {
  if (await isMounted(mnt)) {
    try {
      await execFileP('fusermount', ['-u', mnt]);
    } catch {
      await execFileP('fusermount', ['-u', '-z', mnt]).catch(() => undefined);
    }
  }
  if (proc) {
    proc.kill('SIGTERM');
    if (!(await exited(proc, 5000))) {
      proc.kill('SIGKILL');
      await exited(proc, 5000);
    }
  }
}

async function times(p: string): Promise<{ atimeNs: bigint; mtimeNs: bigint }> {
  const st = await stat(p, { bigint: true });
  return { atimeNs: st.atimeNs, mtimeNs: st.mtimeNs };
}

/** True when the test can go on; skips it (fails it under CI) otherwise. */
async function fuseUsable(t: TestContext): Promise<boolean> {
  const problem = await fuseProblem();
  if (!problem) return true;
  assert.ok(!inCI, `FUSE is unusable here and CI must test it: ${problem}`);
  t.skip(`FUSE is unusable here: ${problem}`);
  return false;
}

test('patched fuse-native: µs times, UTIME_OMIT, UTIME_NOW and big writes on a real mount', { timeout: 120_000 }, async (t) => {
  if (!(await fuseUsable(t))) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mogfs-fuse-'));
  const mnt = path.join(dir, 'mnt');
  await mkdir(mnt);
  let served: Served | null = null;
  try {
    served = await serve(mnt, MOUNT_OPTIONS);
    const file = path.join(mnt, 'f');
    await writeFile(file, 'hello');
    assert.equal(await readFile(file, 'utf8'), 'hello');

    await t.test('touch -m sets mtime to the microsecond and leaves atime (UTIME_OMIT)', async () => {
      const before = await times(file);
      await execFileP('touch', ['-m', '-d', '@1600000000.123456', file]);
      const after = await times(file);
      assert.equal(after.mtimeNs, 1_600_000_000_123_456_000n);
      assert.equal(after.atimeNs, before.atimeNs);
      const { stdout } = await execFileP('stat', ['-c', '%.9Y', file]);
      assert.equal(stdout.trim(), '1600000000.123456000');
    });

    await t.test('touch -a sets atime and leaves mtime (UTIME_OMIT)', async () => {
      await execFileP('touch', ['-a', '-d', '@1500000000.5', file]);
      const after = await times(file);
      assert.equal(after.atimeNs, 1_500_000_000_500_000_000n);
      assert.equal(after.mtimeNs, 1_600_000_000_123_456_000n);
    });

    await t.test('plain touch sets both times to now (UTIME_NOW)', async () => {
      const t0 = BigInt(Date.now()) * 1_000_000n;
      await execFileP('touch', [file]);
      const t1 = BigInt(Date.now()) * 1_000_000n;
      const after = await times(file);
      const slack = 1_000_000_000n;
      for (const [name, ns] of Object.entries({ atime: after.atimeNs, mtime: after.mtimeNs })) {
        assert.ok(ns >= t0 - slack && ns <= t1 + slack, `${name} ${ns} is not near now (${t0}..${t1})`);
      }
      assert.equal(after.atimeNs, after.mtimeNs, 'one UTIME_NOW call should give both times the same instant');
    });

    await t.test('dd bs=1M arrives in big writes and reads back intact', async () => {
      const src = path.join(dir, 'src.bin');
      const data = randomBytes(1 << 20);
      await writeFile(src, data);
      const big = path.join(mnt, 'big');
      await execFileP('dd', [`if=${src}`, `of=${big}`, 'bs=1M', 'count=1', 'status=none']);
      const st = await served!.stats();
      assert.ok(st.maxWrite > 4096, `largest write ${st.maxWrite} bytes: big_writes not in effect`);
      assert.ok(st.maxWrite <= 131072, `largest write ${st.maxWrite} bytes exceeds max_write`);
      assert.equal((await stat(big)).size, 1 << 20);
      assert.ok(data.equals(await readFile(big)), 'read back differs from what dd wrote');
      t.diagnostic(`writes: ${st.writes}, largest ${st.maxWrite} bytes`);
    });

    await t.test('unmount() through the binding ends the mount and the process', async () => {
      served!.proc.stdin!.write('exit\n');
      assert.ok(await exited(served!.proc, 10_000), 'the fixture did not exit after unmounting');
      assert.equal(served!.proc.exitCode, 0);
      assert.equal(await isMounted(mnt), false);
    });
  } catch (e) {
    if (served) t.diagnostic(`fixture output: ${served.output()}`);
    throw e;
  } finally {
    await unmountAndStop(mnt, served?.proc ?? null);
    assert.equal(await isMounted(mnt), false, `${mnt} is still mounted`);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a mount option libfuse rejects fails the mount and leaves nothing mounted', { timeout: 60_000 }, async (t) => {
  if (!(await fuseUsable(t))) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mogfs-fuse-'));
  const mnt = path.join(dir, 'mnt');
  await mkdir(mnt);
  try {
    await assert.rejects(serve(mnt, ['big_writes', 'writeback_cache']), /exited \(2\) before ready[\s\S]*unknown option `writeback_cache'/);
    assert.equal(await isMounted(mnt), false, 'the rejected mount was left behind');
  } finally {
    await unmountAndStop(mnt, null);
    await rm(dir, { recursive: true, force: true });
  }
});
