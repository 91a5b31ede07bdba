/**
 * A randomized model test of the FUSE mount, on both engines: one seeded
 * random sequence of create, write at offsets, truncate (by path and through
 * a handle), rename (files and directories, onto files, onto empty and
 * non-empty directories, into themselves), unlink, mkdir, rmdir, rm -r,
 * chmod, utimes with sub-second times, symlink, and handles held open across
 * steps (a second handle writing while another is open, reads through either)
 * is applied to the mount and to a local temp dir, the local disk being the
 * model. Every operation must have the same outcome on both: both succeed
 * (with the same result: bytes written, bytes read), or both fail with the
 * same errno. After every step the two trees are compared: the set of paths,
 * each one's type, a file's size, content (hash), mode, owner, link count and
 * mtime, a symlink's target. Every CHECK_EVERY steps, when no handle is held,
 * a second mount of the same domain with no caching at all (--cache-time 0)
 * is compared too, its files read with O_DIRECT: what the first mount shows
 * must be what is stored. Half the held handles are opened with O_DIRECT on
 * the mount's side, so their reads and writes reach the mount rather than
 * the kernel's page cache (the local side opens them plainly).
 *
 * Reproduce a failure with the seed and step count it prints:
 *   MOGFS_MODEL_SEED=<seed> MOGFS_MODEL_STEPS=<steps> node scripts/run-tests.js mount-model
 * (the sequence of each engine depends only on the seed and the engine's name).
 *
 * Deliberate differences of the mount from a local disk, not compared:
 *  - a directory's mtime (and size): the mount does not update a directory's
 *    mtime when entries are added or removed (MogileFS keeps no directory
 *    objects, only markers), and shows 4096 as every directory's size;
 *  - st_nlink of directories: always 1 on the mount ("unknown", which tells
 *    find not to count subdirectories from it);
 *  - atime and ctime: MogileFS keeps neither; the mount shows the mtime;
 *  - st_ino, st_dev, st_blocks: no inodes, and no block allocation to show;
 *  - the mtime a content change sets: the mount stamps it with its own clock
 *    (ms) when the write arrives, the local disk with the kernel's coarse
 *    clock, so such an mtime is checked to lie, on both sides, inside the
 *    time window of the same operation (mtimes set with utimes are compared
 *    exactly, to the microsecond: the mount keeps microseconds, the disk ns);
 *  - hard links (EPERM on the mount) are not exercised; mount-smoke checks it.
 *  - the root directory's own mode (a temp dir is 0700, the mount's root
 *    0755): operations act below the root only.
 * Symlink targets are relative and never contain `..`, so following one
 * stays inside the tree on both sides.
 *
 *  - fstat of a handle whose file was unlinked (or renamed over) while open
 *    may answer ENOENT on the mount once the directory it was in is removed
 *    too: libfuse's high-level API finds an open file's attributes by its
 *    path, and a removed directory leaves it none (reads, writes and close
 *    still work through the handle). While the directory exists, fstat works
 *    and is compared (the mount keeps the file locally under the hidden name
 *    libfuse gives it, see src/vfs/tree.ts).
 *
 * The test process hosts the tracker and storage nodes (startCluster): every
 * call on the mount is async and one at a time, never synchronous.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forEachEngine } from './helpers/engines';
import type { EngineName } from './helpers/engines';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { mount, mountSkipReason, stopAllMounts } from './helpers/mount';
import type { Mount } from './helpers/mount';

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

const SEED = envInt('MOGFS_MODEL_SEED', 20250611);
const STEPS = envInt('MOGFS_MODEL_STEPS', 2500);
/** Compare the uncached second mount every this many steps (when no handle is held). */
const CHECK_EVERY = 50;
const HISTORY = Number(process.env.MOGFS_MODEL_HISTORY ?? 20);

// ---- deterministic PRNG (mulberry32) ----

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [v, w] of choices) {
      if ((r -= w) < 0) return v;
    }
    return choices[choices.length - 1][0];
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    // A random 32-bit word, then a cheap deterministic run from it: fast for 100 KiB buffers.
    let x = (this.next() * 4294967296) >>> 0 || 1;
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      b[i] = x & 0xff;
    }
    return b;
  }
}

/** A per-engine seed: the same base seed gives each engine its own, reproducible sequence. */
function engineSeed(seed: number, engine: EngineName): number {
  return crypto.createHash('sha256').update(`${seed}:${engine}`).digest().readUInt32LE(0);
}

// ---- the tree ----

/** Names of files, directories and symlinks alike, so they collide: spaces, unicode, a dot-file. */
const NAMES = ['a', 'b', 'name with spaces', 'ünïcødé-файл-文件', '.hidden', 'x.txt'];
const MAX_DEPTH = 3;
/** Above this many entries the sequence leans towards removing. */
const BIG_TREE = 28;

type Kind = 'file' | 'dir' | 'symlink' | 'other';

interface Entry {
  kind: Kind;
  /** Full st_mode: type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  mtimeUs: bigint;
  hash?: string;
  target?: string;
}

type Tree = Map<string, Entry>;

/** A whole file, read with O_DIRECT: from the mount itself, not from the kernel's page cache. */
async function readDirect(file: string): Promise<Buffer> {
  const fh = await fs.open(file, constants.O_RDONLY | constants.O_DIRECT);
  try {
    const parts: Buffer[] = [];
    for (;;) {
      const buf = Buffer.alloc(256 * 1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return Buffer.concat(parts);
      parts.push(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
}

/**
 * Every path below `root` ('a', 'a/b'), sorted, with what is compared; files
 * are read whole (with O_DIRECT when `direct`).
 */
async function snapshot(root: string, direct = false): Promise<Tree> {
  const out: Tree = new Map();
  const walk = async (rel: string): Promise<void> => {
    const names = (await fs.readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const full = path.join(root, p);
      const st = await fs.lstat(full, { bigint: true });
      const kind: Kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
      const e: Entry = {
        kind, mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), nlink: Number(st.nlink),
        size: Number(st.size), mtimeUs: st.mtimeNs / 1000n,
      };
      if (kind === 'file') e.hash = crypto.createHash('sha1').update(direct ? await readDirect(full) : await fs.readFile(full)).digest('hex');
      if (kind === 'symlink') e.target = await fs.readlink(full);
      out.set(p, e);
      if (kind === 'dir') await walk(p);
    }
  };
  await walk('');
  return out;
}

/** The wall-clock window (µs) of one step: content changes made by it carry an mtime inside it. */
interface Window {
  lo: bigint;
  hi: bigint;
}

/** The local disk stamps with the kernel's coarse clock, up to a tick behind Date.now(). */
const COARSE_SLACK_US = 15_000n;

/** Now in µs, rounded down (`up` false) or up: Date.now() counts whole ms. */
function nowUs(up: boolean): bigint {
  return (BigInt(Date.now()) + (up ? 1n : 0n)) * 1000n;
}

function mtimeMatches(local: bigint, mnt: bigint, windows: Window[]): boolean {
  if (local === mnt) return true;
  for (let i = windows.length - 1; i >= 0; i--) {
    const w = windows[i];
    if (w.hi < local && w.hi < mnt) break;
    if (local >= w.lo && local <= w.hi && mnt >= w.lo && mnt <= w.hi) return true;
  }
  return false;
}

function fmtEntry(e: Entry | undefined): string {
  if (!e) return 'absent';
  const parts = [e.kind, `mode=${e.mode.toString(8)}`];
  if (e.kind !== 'dir') parts.push(`size=${e.size}`, `mtime=${e.mtimeUs}`, `nlink=${e.nlink}`);
  if (e.hash) parts.push(`sha1=${e.hash.slice(0, 12)}`);
  if (e.target !== undefined) parts.push(`-> ${JSON.stringify(e.target)}`);
  parts.push(`uid=${e.uid}`, `gid=${e.gid}`);
  return parts.join(' ');
}

/** Differences between the model (local) and a mount, as lines; empty when they agree. */
function diffTrees(local: Tree, mnt: Tree, windows: Window[]): string[] {
  const out: string[] = [];
  for (const p of new Set([...local.keys(), ...mnt.keys()])) {
    const l = local.get(p);
    const m = mnt.get(p);
    const why: string[] = [];
    if (!l || !m) why.push(l ? 'missing on the mount' : 'only on the mount');
    else {
      if (l.kind !== m.kind) why.push('type');
      if (l.mode !== m.mode) why.push('mode');
      if (l.uid !== m.uid || l.gid !== m.gid) why.push('owner');
      if (l.kind !== 'dir') {
        // Directory size, mtime and nlink are deliberate differences (see the top of this file).
        if (l.size !== m.size) why.push('size');
        if (l.nlink !== m.nlink) why.push('nlink');
        if (l.hash !== m.hash) why.push('content');
        if (l.target !== m.target) why.push('symlink target');
        if (!mtimeMatches(l.mtimeUs, m.mtimeUs, windows)) why.push('mtime');
      }
    }
    if (why.length > 0) out.push(`${JSON.stringify(p)}: ${why.join(', ')}\n      local: ${fmtEntry(l)}\n      mount: ${fmtEntry(m)}`);
  }
  return out;
}

// ---- operations, applied to both sides ----

type Outcome = { ok: true; value: string } | { ok: false; code: string };

function fmtOutcome(o: Outcome): string {
  return o.ok ? `ok${o.value ? ` ${o.value}` : ''}` : o.code;
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.ok ? b.ok && a.value === b.value : !b.ok && a.code === b.code;
}

async function outcome(work: () => Promise<string | void>): Promise<Outcome> {
  try {
    return { ok: true, value: (await work()) ?? '' };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') throw e;
    return { ok: false, code };
  }
}

function digest(b: Buffer): string {
  return `${b.length}B:${crypto.createHash('sha1').update(b).digest('hex').slice(0, 12)}`;
}

/** fs.open's string flags as numbers (to add O_DIRECT). */
function numericFlags(flags: string): number {
  const { O_RDONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND } = constants;
  const map: Record<string, number> = { r: O_RDONLY, 'r+': O_RDWR, 'w+': O_RDWR | O_CREAT | O_TRUNC, 'a+': O_RDWR | O_CREAT | O_APPEND };
  const n = map[flags];
  if (n === undefined) throw new Error(`no numeric form for flags ${flags}`);
  return n;
}

/**
 * Opens the mount's side of a handle with O_DIRECT. FUSE refuses O_DIRECT on
 * a directory (EINVAL, where a local disk opens it): a directory is opened
 * without it, as the local side is.
 */
async function openDirect(full: string, flags: string): Promise<FileHandle> {
  try {
    return await fs.open(full, numericFlags(flags) | constants.O_DIRECT, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL' || !(await fs.stat(full).catch(() => null))?.isDirectory()) throw e;
    return fs.open(full, flags, 0o644);
  }
}

/** One handle held open across steps, on both sides. */
interface Held {
  id: number;
  /** Node's flags ('r+'...), plus ' direct' when the mount's side was opened with O_DIRECT. */
  flags: string;
  /** Where it was opened (for the log; the file may have moved since). */
  opened: string;
  local: FileHandle;
  mnt: FileHandle;
}

/** What a side's half of an operation gets: its root, and its half of a held handle. */
interface Side {
  root: string;
  name: 'local' | 'mount';
  fh(h: Held): FileHandle;
}

/** Opens, runs `body`, always closes; the close's error counts when the body succeeded (close reports upload failures). */
async function withOpen(file: string, flags: string, mode: number | undefined, body: (fh: FileHandle) => Promise<string | void>): Promise<string | void> {
  const fh = await fs.open(file, flags, mode);
  let result: string | void;
  try {
    result = await body(fh);
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
  await fh.close();
  return result;
}

async function writeAll(fh: FileHandle, buf: Buffer, pos: number | null): Promise<string> {
  const { bytesWritten } = await fh.write(buf, 0, buf.length, pos);
  return `wrote ${bytesWritten}`;
}

async function readAt(fh: FileHandle, len: number, pos: number): Promise<string> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  return `read ${digest(buf.subarray(0, bytesRead))}`;
}

/** A divergence, already carrying the seed, the step and the last operations. */
class ModelFailure extends Error {}

interface Step {
  /** One line saying what the step does, for the log. */
  desc: string;
  /** The coverage counter it feeds. */
  tag: string;
  run(side: Side): Promise<string | void>;
  /** Runs after both sides, with both outcomes (to keep or drop held handles). */
  settle?(local: Outcome, mnt: Outcome): Promise<void>;
  /** A deliberate difference this step may show, documented at the top (default: none). */
  allowed?(local: Outcome, mnt: Outcome): boolean;
}

class Model {
  readonly rng: Rng;
  readonly held: Held[] = [];
  private nextHeld = 1;
  readonly history: string[] = [];
  readonly windows: Window[] = [];
  readonly coverage = new Map<string, number>();
  tree: Tree = new Map();

  constructor(readonly seed: number, readonly engine: EngineName, readonly localRoot: string, readonly mntRoot: string, readonly observerRoot: string) {
    this.rng = new Rng(engineSeed(seed, engine));
  }

  private count(tag: string): void {
    this.coverage.set(tag, (this.coverage.get(tag) ?? 0) + 1);
  }

  // -- choosing paths from the current (local) tree --

  private paths(kind?: Kind): string[] {
    return [...this.tree].filter(([, e]) => kind === undefined || e.kind === kind).map(([p]) => p);
  }

  private depth(p: string): number {
    return p === '' ? 0 : p.split('/').length;
  }

  private existing(kind?: Kind): string | null {
    const ps = this.paths(kind);
    return ps.length > 0 ? this.rng.pick(ps) : null;
  }

  /** A path to make something at: mostly in an existing directory, sometimes under a file, a symlink or nothing. */
  private newPath(): string {
    const r = this.rng.next();
    let parent: string;
    if (r < 0.85) {
      const dirs = ['', ...this.paths('dir').filter((p) => this.depth(p) < MAX_DEPTH)];
      parent = this.rng.pick(dirs);
    } else if (r < 0.93) {
      parent = this.existing() ?? '';
      if (this.depth(parent) >= MAX_DEPTH) parent = '';
    } else {
      parent = this.rng.pick(NAMES) + (this.rng.chance(0.5) ? `/${this.rng.pick(NAMES)}` : '');
    }
    const name = this.rng.pick(NAMES);
    return parent === '' ? name : `${parent}/${name}`;
  }

  private anyPath(pExisting = 0.6, kind?: Kind): string {
    if (this.rng.chance(pExisting)) {
      const p = this.existing(kind);
      if (p !== null) return p;
    }
    return this.newPath();
  }

  private isEmptyDir(p: string): boolean {
    const pre = `${p}/`;
    for (const k of this.tree.keys()) if (k.startsWith(pre)) return false;
    return true;
  }

  private data(): Buffer {
    const n = this.rng.weighted<number>([[0, 1], [this.rng.range(1, 64), 4], [this.rng.range(65, 9000), 8], [this.rng.range(9001, 40_000), 2], [this.rng.range(131_000, 140_000), 0.3]]);
    return this.rng.bytes(n);
  }

  private offset(): number {
    return this.rng.weighted<number>([[0, 3], [this.rng.range(0, 5000), 5], [this.rng.range(5000, 70_000), 2]]);
  }

  private size(): number {
    return this.rng.weighted<number>([[0, 3], [this.rng.range(1, 4000), 5], [this.rng.range(4000, 80_000), 2]]);
  }

  private fileMode(): number {
    return this.rng.pick([0o644, 0o600, 0o755, 0o400, 0o664, 0o640, 0o4755, 0o1644, 0o000]);
  }

  private dirMode(): number {
    return this.rng.pick([0o755, 0o700, 0o750, 0o1777, 0o555, 0o711]);
  }

  /** A time with microseconds, years in the past (or the future), never inside a step's window. */
  private time(): number {
    const sec = this.rng.pick([this.rng.range(978_307_200, 1_600_000_000), this.rng.range(2_000_000_000, 2_100_000_000)]);
    return sec + (this.rng.int(1_000_000) + 0.5) / 1e6;
  }

  private symlinkTarget(): string {
    return this.rng.weighted<string>([
      [this.rng.pick(NAMES), 4],
      [`${this.rng.pick(NAMES)}/${this.rng.pick(NAMES)}`, 2],
      [this.existing() ?? 'a', 2],
      ['nowhere/at all', 1],
      ['ünï/🙂 target', 1],
    ]);
  }

  // -- the next step --

  private pickHeld(): Held | null {
    return this.held.length > 0 ? this.rng.pick(this.held) : null;
  }

  next(): Step {
    const big = this.tree.size > BIG_TREE;
    const op = this.rng.weighted<string>([
      ['create', 12], ['write', 12], ['ftruncate', 4], ['truncate', 5], ['rename', 16], ['unlink', big ? 14 : 6],
      ['mkdir', big ? 3 : 8], ['rmdir', big ? 8 : 4], ['rmrf', big ? 6 : 0.5], ['chmod', 5], ['utimes', 6], ['symlink', 4],
      ['hopen', this.held.length < 3 ? 4 : 0], ['hwrite', this.held.length > 0 ? 7 : 0], ['hread', this.held.length > 0 ? 4 : 0],
      ['htruncate', this.held.length > 0 ? 2 : 0], ['hstat', this.held.length > 0 ? 1 : 0], ['hclose', this.held.length > 0 ? 4 : 0],
      ['twohandles', 3],
    ]);
    switch (op) {
      case 'create': return this.create();
      case 'write': return this.write();
      case 'ftruncate': return this.ftruncate();
      case 'truncate': return this.truncate();
      case 'rename': return this.rename();
      case 'unlink': return this.simple('unlink', this.anyPath(0.8, this.rng.chance(0.8) ? 'file' : undefined), (p) => fs.unlink(p));
      case 'mkdir': {
        const m = this.dirMode();
        return this.simple(`mkdir mode=${m.toString(8)}`, this.anyPath(0.2), (p) => fs.mkdir(p, m), 'mkdir');
      }
      case 'rmdir': return this.simple('rmdir', this.anyPath(0.8, this.rng.chance(0.8) ? 'dir' : undefined), (p) => fs.rmdir(p));
      case 'rmrf': return this.simple('rm -r', this.anyPath(0.9, 'dir'), (p) => fs.rm(p, { recursive: true }));
      case 'chmod': {
        const p = this.anyPath(0.9);
        const m = this.tree.get(p)?.kind === 'dir' ? this.dirMode() : this.fileMode();
        return this.simple(`chmod ${m.toString(8)}`, p, (full) => fs.chmod(full, m), 'chmod');
      }
      case 'utimes': {
        const at = this.time();
        const mt = this.time();
        return this.simple(`utimes mtime=${mt.toFixed(7)}`, this.anyPath(0.9), (p) => fs.utimes(p, at, mt), 'utimes');
      }
      case 'symlink': {
        const target = this.symlinkTarget();
        return this.simple(`symlink -> ${JSON.stringify(target)}`, this.anyPath(0.2), (p) => fs.symlink(target, p), 'symlink');
      }
      case 'hopen': return this.hopen();
      case 'hwrite': return this.hwrite(this.pickHeld() as Held);
      case 'hread': return this.hread(this.pickHeld() as Held);
      case 'htruncate': return this.htruncate(this.pickHeld() as Held);
      case 'hstat': return this.hstat(this.pickHeld() as Held);
      case 'hclose': return this.hclose(this.pickHeld() as Held);
      default: return this.twoHandles();
    }
  }

  private simple(what: string, p: string, act: (full: string) => Promise<unknown>, tag = what): Step {
    return { desc: `${what} ${JSON.stringify(p)}`, tag, run: async (s) => { await act(path.join(s.root, p)); } };
  }

  private create(): Step {
    const p = this.anyPath(0.4, 'file');
    const flags = this.rng.weighted<string>([['w', 6], ['wx', 2], ['a', 2]]);
    const mode = this.fileMode();
    const data = this.data();
    return {
      desc: `create ${JSON.stringify(p)} flags=${flags} mode=${mode.toString(8)} write ${data.length}B`,
      tag: `create-${flags}`,
      run: (s) => withOpen(path.join(s.root, p), flags, mode, (fh) => writeAll(fh, data, flags === 'a' ? null : 0)),
    };
  }

  private write(): Step {
    const p = this.anyPath(0.9, 'file');
    const pos = this.offset();
    const data = this.data();
    return {
      desc: `write ${JSON.stringify(p)} at ${pos} ${data.length}B`,
      tag: 'write',
      run: (s) => withOpen(path.join(s.root, p), 'r+', undefined, (fh) => writeAll(fh, data, pos)),
    };
  }

  private ftruncate(): Step {
    const p = this.anyPath(0.9, 'file');
    const n = this.size();
    return {
      desc: `ftruncate ${JSON.stringify(p)} to ${n}`,
      tag: 'ftruncate',
      run: (s) => withOpen(path.join(s.root, p), 'r+', undefined, async (fh) => { await fh.truncate(n); }),
    };
  }

  private truncate(): Step {
    const p = this.anyPath(0.9, 'file');
    const n = this.size();
    return { desc: `truncate ${JSON.stringify(p)} to ${n}`, tag: 'truncate', run: async (s) => { await fs.truncate(path.join(s.root, p), n); } };
  }

  private rename(): Step {
    const kind = this.rng.weighted<string>([
      ['any', 5], ['file-new', 3], ['file-onto-file', 3], ['dir-new', 3], ['dir-onto-empty', 2], ['dir-onto-nonempty', 2],
      ['dir-into-itself', 1], ['onto-any', 2], ['same', 0.5], ['missing', 0.5],
    ]);
    const files = this.paths('file');
    const dirs = this.paths('dir');
    let from = this.anyPath(0.9);
    let to = this.newPath();
    let tag = `rename-${kind}`;
    const otherThan = (ps: string[], p: string): string[] => ps.filter((q) => q !== p && !q.startsWith(`${p}/`) && !p.startsWith(`${q}/`));
    switch (kind) {
      case 'file-new':
        if (files.length > 0) from = this.rng.pick(files);
        break;
      case 'file-onto-file': {
        if (files.length >= 2) {
          from = this.rng.pick(files);
          to = this.rng.pick(files.filter((f) => f !== from));
        } else tag = 'rename-any';
        break;
      }
      case 'dir-new':
        if (dirs.length > 0) from = this.rng.pick(dirs);
        break;
      case 'dir-onto-empty':
      case 'dir-onto-nonempty': {
        const want = kind === 'dir-onto-empty';
        const pairs: Array<[string, string]> = [];
        for (const d of dirs) for (const e of otherThan(dirs, d)) if (this.isEmptyDir(e) === want) pairs.push([d, e]);
        if (pairs.length > 0) [from, to] = this.rng.pick(pairs);
        else tag = 'rename-any';
        break;
      }
      case 'dir-into-itself':
        if (dirs.length > 0) {
          from = this.rng.pick(dirs);
          to = `${from}/${this.rng.pick(NAMES)}`;
        } else tag = 'rename-any';
        break;
      case 'onto-any':
        to = this.anyPath(1);
        break;
      case 'same':
        to = from;
        break;
      case 'missing':
        from = `${this.rng.pick(NAMES)}/${this.rng.pick(NAMES)}/${this.rng.pick(NAMES)}`;
        break;
      default:
        to = this.anyPath(0.3);
    }
    return {
      desc: `rename ${JSON.stringify(from)} -> ${JSON.stringify(to)} (${tag.slice('rename-'.length)})`,
      tag,
      run: async (s) => { await fs.rename(path.join(s.root, from), path.join(s.root, to)); },
    };
  }

  private hopen(): Step {
    const base = this.rng.weighted<string>([['r', 2], ['r+', 4], ['w+', 2], ['a+', 1]]);
    // Half the time the mount's side bypasses the kernel's page cache, so
    // reads and writes through it reach the mount itself (no alignment
    // rules on FUSE; the local side opens without it).
    const direct = this.rng.chance(0.5);
    const flags = direct ? `${base} direct` : base;
    const p = this.anyPath(base === 'w+' ? 0.5 : 0.9, 'file');
    const opened: { local: FileHandle | null; mnt: FileHandle | null } = { local: null, mnt: null };
    return {
      desc: `hold open #${this.nextHeld} ${JSON.stringify(p)} flags=${flags}`,
      tag: `hold-open-${base}`,
      run: async (s) => {
        const full = path.join(s.root, p);
        if (s.name === 'local') opened.local = await fs.open(full, base, 0o644);
        else opened.mnt = direct ? await openDirect(full, base) : await fs.open(full, base, 0o644);
      },
      settle: async (l, m) => {
        if (l.ok && m.ok && opened.local && opened.mnt) {
          this.held.push({ id: this.nextHeld++, flags, opened: p, local: opened.local, mnt: opened.mnt });
          return;
        }
        await opened.local?.close().catch(() => undefined);
        await opened.mnt?.close().catch(() => undefined);
      },
    };
  }

  private hwrite(h: Held): Step {
    const pos = this.offset();
    const data = this.data();
    return {
      desc: `write through #${h.id} (${h.flags}, opened as ${JSON.stringify(h.opened)}) at ${pos} ${data.length}B`,
      tag: 'held-write',
      run: (s) => writeAll(s.fh(h), data, pos),
    };
  }

  private hread(h: Held): Step {
    const pos = this.rng.chance(0.5) ? 0 : this.offset();
    const len = this.rng.pick([1, 100, 4096, 65_536, 200_000]);
    return {
      desc: `read through #${h.id} (${h.flags}, opened as ${JSON.stringify(h.opened)}) at ${pos} ${len}B`,
      tag: 'held-read',
      run: (s) => readAt(s.fh(h), len, pos),
    };
  }

  private htruncate(h: Held): Step {
    const n = this.size();
    return {
      desc: `ftruncate through #${h.id} (${h.flags}, opened as ${JSON.stringify(h.opened)}) to ${n}`,
      tag: 'held-ftruncate',
      run: async (s) => { await s.fh(h).truncate(n); },
    };
  }

  private hstat(h: Held): Step {
    let unlinked = false;
    return {
      desc: `fstat #${h.id} (${h.flags}, opened as ${JSON.stringify(h.opened)})`,
      tag: 'held-fstat',
      run: async (s) => {
        const st = await s.fh(h).stat();
        if (s.name === 'local') unlinked = st.nlink === 0;
        return `size=${st.size} mode=${st.mode.toString(8)}`;
      },
      allowed: (l, m) => {
        const gone = unlinked && l.ok && !m.ok && m.code === 'ENOENT';
        if (gone) this.count('held-fstat ENOENT after its directory went');
        return gone;
      },
    };
  }

  private hclose(h: Held): Step {
    this.held.splice(this.held.indexOf(h), 1);
    return {
      desc: `close #${h.id} (${h.flags}, opened as ${JSON.stringify(h.opened)})`,
      tag: 'held-close',
      run: async (s) => { await s.fh(h).close(); },
    };
  }

  /**
   * Two handles on one file in one step: h1 writes, h2 (opened while h1 is)
   * writes elsewhere, h1 reads back what h2 wrote and the whole file, h2
   * reads back what h1 wrote; h2 closes first, then h1.
   */
  private twoHandles(): Step {
    const p = this.anyPath(0.8, 'file');
    const a = this.data();
    const b = this.data();
    const pa = this.offset();
    const pb = this.offset();
    const f1 = this.rng.pick(['w+', 'r+', 'a+']);
    return {
      desc: `two handles on ${JSON.stringify(p)}: h1(${f1}) writes ${a.length}B at ${pa}, h2(r+) writes ${b.length}B at ${pb}, both read back`,
      tag: 'two-handles',
      run: (s) => withOpen(path.join(s.root, p), f1, 0o644, async (h1) => {
        const r: string[] = [await writeAll(h1, a, pa)];
        r.push(await withOpen(path.join(s.root, p), 'r+', undefined, async (h2) => {
          const q: string[] = [await writeAll(h2, b, pb)];
          q.push(await readAt(h1, b.length, pb), await readAt(h1, 300_000, 0), await readAt(h2, a.length, pa));
          return q.join(' ');
        }) as string);
        r.push(await readAt(h1, 300_000, 0));
        return r.join(' ');
      }),
    };
  }

  // -- running --

  private sides(): { local: Side; mnt: Side } {
    return {
      local: { root: this.localRoot, name: 'local', fh: (h) => h.local },
      mnt: { root: this.mntRoot, name: 'mount', fh: (h) => h.mnt },
    };
  }

  private failure(step: number, what: string): Error {
    const held = this.held.map((h) => `#${h.id} ${h.flags} ${JSON.stringify(h.opened)}`).join(', ') || 'none';
    return new ModelFailure(
      `mount-model (${this.engine}) diverged at step ${step}: ${what}\n` +
      `  replay: MOGFS_MODEL_SEED=${this.seed} MOGFS_MODEL_STEPS=${step + 1} node scripts/run-tests.js mount-model (engine ${this.engine})\n` +
      `  handles held: ${held}\n` +
      `  last ${this.history.length} operations (local | mount):\n    ${this.history.join('\n    ')}`,
    );
  }

  /** Step `i`: one operation on both sides, outcomes compared, then the trees; any error says how to replay it. */
  async step(i: number): Promise<void> {
    try {
      await this.stepNow(i);
    } catch (e) {
      if (e instanceof ModelFailure) throw e;
      throw this.failure(i, `unexpected error: ${(e as Error).stack ?? String(e)}`);
    }
  }

  private async stepNow(i: number): Promise<void> {
    const st = this.next();
    const { local, mnt } = this.sides();
    const w: Window = { lo: nowUs(false) - COARSE_SLACK_US, hi: 0n };
    const lo = await outcome(() => st.run(local));
    const mo = await outcome(() => st.run(mnt));
    await st.settle?.(lo, mo);
    w.hi = nowUs(true);
    this.windows.push(w);
    this.history.push(`#${i} ${st.desc}: ${fmtOutcome(lo)} | ${fmtOutcome(mo)}`);
    if (this.history.length > HISTORY) this.history.shift();
    this.count(st.tag);
    this.count(`${st.tag} ${lo.ok ? 'ok' : lo.code}`);
    if (!sameOutcome(lo, mo) && !st.allowed?.(lo, mo)) throw this.failure(i, `outcomes differ: local ${fmtOutcome(lo)}, mount ${fmtOutcome(mo)}`);
    await this.compare(i, this.mntRoot, 'the mount');
    if (this.held.length === 0 && (i + 1) % CHECK_EVERY === 0) await this.compare(i, this.observerRoot, 'the uncached second mount', false, true);
  }

  /** Compares `root` with the local tree (re-read first unless `fresh` is false: the tree was just read). */
  async compare(i: number, root: string, what: string, fresh = true, direct = false): Promise<void> {
    if (fresh) this.tree = await snapshot(this.localRoot);
    let other: Tree;
    try {
      other = await snapshot(root, direct);
    } catch (e) {
      throw this.failure(i, `reading ${what} failed: ${(e as Error).message}`);
    }
    const d = diffTrees(this.tree, other, this.windows);
    if (d.length > 0) throw this.failure(i, `${what} and the local tree differ:\n    ${d.join('\n    ')}`);
  }

  async closeHeld(): Promise<void> {
    for (const h of this.held.splice(0)) {
      await h.local.close().catch(() => undefined);
      await h.mnt.close().catch(() => undefined);
    }
  }
}

forEachEngine((engine) => {
  let c: Cluster;
  let m: Mount;
  let observer: Mount;
  let localRoot = '';
  let skip: string | null = null;
  before(async () => {
    skip = await mountSkipReason();
    if (skip) return;
    c = await startCluster({ engine });
    m = await mount(c.trackers, { domain: 'default' });
    // What is stored, seen with no cache in the kernel or the view.
    observer = await mount(c.trackers, { domain: 'default', cacheTime: 0 });
    localRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-model-'));
  });
  after(async () => {
    await stopAllMounts();
    await c?.stop();
    if (localRoot) await fs.rm(localRoot, { recursive: true, force: true });
  });

  test(`random operations agree with a local directory (seed ${SEED}, ${STEPS} steps)`, { timeout: 30 * 60_000 }, async (t) => {
    if (skip) return t.skip(skip);
    const model = new Model(SEED, engine, localRoot, m.dir, observer.dir);
    const started = Date.now();
    try {
      for (let i = 0; i < STEPS; i++) await model.step(i);
      await model.closeHeld();
      await model.compare(STEPS, m.dir, 'the mount (all handles closed)');
      await model.compare(STEPS, observer.dir, 'the uncached second mount (all handles closed)', false, true);
    } catch (e) {
      const log = m.log().trim().split('\n').slice(-30).join('\n');
      if (log) (e as Error).message += `\n  mount log (last lines):\n${log}`;
      throw e;
    } finally {
      await model.closeHeld();
    }
    const cov = [...model.coverage].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join(', ');
    t.diagnostic(`${engine}: ${STEPS} steps in ${((Date.now() - started) / 1000).toFixed(1)} s; ${cov}`);
    // The scenarios the model must have met (with the default step count) to mean anything.
    if (STEPS >= 2000) {
      for (const tag of ['rename-file-onto-file ok', 'rename-dir-onto-empty ok', 'rename-dir-onto-nonempty ENOTEMPTY', 'rename-dir-into-itself EINVAL',
        'two-handles ok', 'held-write ok', 'held-read ok', 'truncate ok', 'ftruncate ok', 'utimes ok', 'chmod ok', 'symlink ok',
        'mkdir ok', 'rmdir ok', 'rmdir ENOTEMPTY', 'unlink ok', 'create-w ok', 'create-wx EEXIST', 'write ok']) {
        assert.ok((model.coverage.get(tag) ?? 0) > 0, `the sequence never reached "${tag}"; coverage: ${cov}`);
      }
    }
  });
});
