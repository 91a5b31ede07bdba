#!/usr/bin/env node
// Builds node_modules/fuse-native's native binding from a patched copy of its
// C source, linked against Debian's libfuse, so node-gyp-build loads ours
// (build/Release/fuse.node) instead of the package's prebuilt one. The patches
// fix utimens (mtime was lost), carry times as microseconds, turn UTIME_NOW /
// UTIME_OMIT into something JS can use, and export `mogfs_patch` so
// src/fuse/binding.ts can tell our build from the prebuilt. Idempotent: a
// stamp beside the output records what was built.
//
// `--if-possible` is the installed package's postinstall: a machine without
// libfuse-dev or a C toolchain still gets a working install (the daemons and
// tools need no FUSE); this says why on one line and exits 0, and
// `mogfs mount` later refuses with the command to run once they are there.
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const ifPossible = process.argv.includes('--if-possible');
// Where `require('fuse-native')` from mogfs finds it: node_modules/ of a
// checkout or of the installed package, or a project's hoisted node_modules/.
const pkgDir = findFuseNative();
const workDir = path.join(path.dirname(pkgDir), '.cache', 'mogfs-fuse-native');
const outFile = path.join(pkgDir, 'build', 'Release', 'fuse.node');
const stampFile = path.join(pkgDir, 'build', 'mogfs-stamp.json');

// Bump when binding.gyp below or the build steps change in a way the patched
// source does not show.
const RECIPE = 'mogfs-fuse-build-1';
// src/fuse/binding.ts checks the loaded binding exports this value.
const PATCH_LEVEL = 2;

// Each patch replaces one exact piece of fuse-native 2.2.6's fuse-native.c
// (every occurrence of it, for those marked `everywhere`).
const PATCHES = [
  {
    name: 'headers for UTIME_NOW/UTIME_OMIT and clock_gettime',
    anchor: '#include <pthread.h>\n',
    replace: `#include <pthread.h>

/* mogfs patch: times cross the binding as microseconds since the epoch (two
 * uint32 halves); utimens turns UTIME_NOW into the current time and
 * UTIME_OMIT into MOGFS_TIME_OMIT (both halves all ones). */
#include <time.h>
#include <sys/stat.h>
#if !defined(UTIME_NOW) || !defined(UTIME_OMIT)
#error "mogfs patch: <sys/stat.h> does not define UTIME_NOW/UTIME_OMIT"
#endif
#define MOGFS_TIME_OMIT UINT64_C(0xFFFFFFFFFFFFFFFF)
/* Largest time JS numbers hold exactly (2^53 - 1 us, the year 2255). */
#define MOGFS_TIME_MAX_US UINT64_C(9007199254740991)
`,
  },
  {
    name: 'atime/mtime kept as 64-bit values',
    anchor: '  size_t atime;\n  size_t mtime;\n',
    replace: '  uint64_t atime;\n  uint64_t mtime;\n',
  },
  {
    name: 'stat times from JS are microseconds',
    anchor: `static void uint32s_to_timespec (struct timespec* ts, uint32_t** ints) {
  uint64_t ms = uint32s_to_uint64(ints);
  ts->tv_sec = ms / 1000;
  ts->tv_nsec = (ms % 1000) * 1000000;
}
`,
    replace: `static void uint32s_to_timespec (struct timespec* ts, uint32_t** ints) {
  uint64_t us = uint32s_to_uint64(ints);
  ts->tv_sec = us / 1000000;
  ts->tv_nsec = (us % 1000000) * 1000;
}
`,
  },
  {
    name: 'utimens times to JS are microseconds, with UTIME_NOW and UTIME_OMIT',
    anchor: `static uint64_t timespec_to_uint64 (const struct timespec* ts) {
  uint64_t ms = (ts->tv_sec * 1000) + (ts->tv_nsec / 1000000);
  return ms;
}
`,
    replace: `static uint64_t timespec_to_uint64 (const struct timespec* ts, const struct timespec* now) {
  if (ts->tv_nsec == UTIME_OMIT) return MOGFS_TIME_OMIT;
  if (ts->tv_nsec == UTIME_NOW) ts = now;
  if (ts->tv_sec < 0) return 0;
  if ((uint64_t) ts->tv_sec > MOGFS_TIME_MAX_US / 1000000) return MOGFS_TIME_MAX_US;
  uint64_t us = (uint64_t) ts->tv_sec * 1000000 + (uint64_t) ts->tv_nsec / 1000;
  return us > MOGFS_TIME_MAX_US ? MOGFS_TIME_MAX_US : us;
}
`,
  },
  {
    name: 'utimens reads the clock once for UTIME_NOW',
    anchor: `  l->atime = timespec_to_uint64(&tv[0]);
  l->mtime = timespec_to_uint64(&tv[1]);
`,
    replace: `  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  l->atime = timespec_to_uint64(&tv[0], &now);
  l->mtime = timespec_to_uint64(&tv[1], &now);
`,
  },
  {
    name: 'utimens passes mtime as the second time',
    anchor: '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)\n',
    replace: '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 3)\n  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)\n',
  },
  {
    name: 'flag_utime_omit_ok set on fuse_operations',
    anchor: '  if (implemented[op_init]) ops.init = fuse_native_init;\n',
    replace: '  if (implemented[op_init]) ops.init = fuse_native_init;\n  ops.flag_utime_omit_ok = 1;\n',
  },
  {
    name: 'a mount whose options fuse_new rejects is undone',
    anchor: '  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);\n',
    replace: `  struct fuse *fuse = fuse_new(ch, &args, &ops, sizeof(struct fuse_operations), ft);
  if (fuse == NULL) {
    /* mogfs patch: libfuse rejected an option (it said which on stderr) after
     * fuse_mount had mounted; unmount instead of leaving a mount nobody serves. */
    fuse_unmount(mnt, ch);
    napi_throw_error(env, "fuse failed", "fuse failed: libfuse rejected the mount options");
    return NULL;
  }
`,
  },
  {
    // With hard_remove, a file unlinked while open has no path any more:
    // libfuse then passes NULL to read/write/flush/release/fgetattr... (the
    // handle is what counts), which napi_create_string_utf8 cannot take.
    name: 'operations on a file with no path get an empty path',
    anchor: 'napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH',
    replace: 'napi_create_string_utf8(env, l->path ? l->path : "", NAPI_AUTO_LENGTH',
    everywhere: true,
  },
  {
    name: 'flag_nullpath_ok set on fuse_operations',
    anchor: '  ops.flag_utime_omit_ok = 1;\n',
    replace: '  ops.flag_utime_omit_ok = 1;\n  ops.flag_nullpath_ok = 1;\n',
  },
  {
    name: 'mogfs_patch constant',
    anchor: 'static const uint32_t op_rmdir = 33;\n',
    replace: `static const uint32_t op_rmdir = 33;\nstatic const uint32_t mogfs_patch = ${PATCH_LEVEL};\n`,
  },
  {
    name: 'mogfs_patch exported',
    anchor: '  NAPI_EXPORT_SIZEOF(fuse_thread_t)\n',
    replace: '  NAPI_EXPORT_SIZEOF(fuse_thread_t)\n  NAPI_EXPORT_UINT32(mogfs_patch)\n',
  },
];

function findFuseNative() {
  try {
    return path.dirname(require.resolve('fuse-native/package.json', { paths: [root] }));
  } catch {
    return path.join(root, 'node_modules', 'fuse-native');
  }
}

const LATER = `; mogfs mount stays unavailable until \`node ${path.join(__dirname, 'build-fuse.js')}\` succeeds`;

// The build cannot run here: say why on one line; only CI treats it as a
// failure (and never an install's --if-possible run).
function cannotBuild(why) {
  console.error(`build-fuse: not building the patched FUSE binding: ${why}${ifPossible ? LATER : ''}`);
  process.exit(inCI && !ifPossible ? 1 : 0);
}

function fail(why) {
  console.error(`build-fuse: ${why}${ifPossible ? LATER : ''}`);
  process.exit(ifPossible ? 0 : 1);
}

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch { /* not here */ }
  }
  return null;
}

function shown(anchor) {
  const s = JSON.stringify(anchor);
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

function applyPatches(source) {
  let out = source;
  for (const p of PATCHES) {
    const first = out.indexOf(p.anchor);
    if (first < 0) {
      fail(`patch "${p.name}" cannot be applied: its anchor is missing from fuse-native.c (is fuse-native still 2.2.6?): ${shown(p.anchor)}`);
    }
    if (p.everywhere) {
      out = out.split(p.anchor).join(p.replace);
      continue;
    }
    if (out.indexOf(p.anchor, first + 1) >= 0) {
      fail(`patch "${p.name}" cannot be applied: its anchor occurs more than once in fuse-native.c: ${shown(p.anchor)}`);
    }
    out = out.slice(0, first) + p.replace + out.slice(first + p.anchor.length);
  }
  return out;
}

function pkgConfig(args) {
  const r = spawnSync('pkg-config', args, { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return r.stdout.trim().split(/\s+/).filter(Boolean);
}

function nodeGypScript() {
  const fromEnv = process.env.npm_config_node_gyp;
  if (fromEnv && fs.existsSync(fromEnv)) return fromEnv;
  const prefix = path.dirname(path.dirname(process.execPath));
  const candidates = [
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const npm = onPath('npm');
  if (npm) {
    const npmRoot = path.dirname(path.dirname(fs.realpathSync(npm)));
    candidates.push(path.join(npmRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  return candidates.find((c) => fs.existsSync(c)) || null;
}

// Node's own headers on this machine, so node-gyp needs no download.
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.dirname(path.dirname(process.execPath));
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))
    && fs.existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) return prefix;
  return null;
}

function bindingGyp(cflags, libs, napiMacrosDir) {
  const includeDirs = [napiMacrosDir];
  const defines = [];
  const otherCflags = [];
  for (const f of cflags) {
    if (f.startsWith('-I')) includeDirs.push(f.slice(2));
    else if (f.startsWith('-D')) defines.push(f.slice(2));
    else otherCflags.push(f);
  }
  const libraries = libs.filter((f) => f.startsWith('-l'));
  const ldflags = libs.filter((f) => !f.startsWith('-l'));
  const target = {
    target_name: 'fuse',
    sources: ['fuse-native.c'],
    include_dirs: includeDirs,
    defines,
    cflags: ['-g', '-O2', '-Wall', ...otherCflags],
    ldflags,
    libraries,
  };
  return JSON.stringify({ targets: [target] }, null, 2) + '\n';
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(stampFile, 'utf8'));
  } catch {
    return null;
  }
}

function main() {
  if (process.platform !== 'linux') cannotBuild(`FUSE mounts are built for Linux only (this is ${process.platform})`);
  if (!fs.existsSync(path.join(pkgDir, 'package.json'))) fail('fuse-native is not installed: run npm ci first');
  const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  const original = fs.readFileSync(path.join(pkgDir, 'fuse-native.c'), 'utf8');
  const patched = applyPatches(original);

  const hash = crypto.createHash('sha256')
    .update(patched).update('\0').update(RECIPE).update('\0')
    .update(process.versions.modules).update('\0').update(process.arch)
    .digest('hex');
  const stamp = readStamp();
  if (stamp && stamp.hash === hash && fs.existsSync(outFile)) {
    console.error('build-fuse: patched FUSE binding is current');
    return;
  }

  if (!onPath('pkg-config')) cannotBuild('pkg-config is not installed (apt-get install pkg-config libfuse-dev)');
  const cflags = pkgConfig(['--cflags', 'fuse']);
  const libs = pkgConfig(['--libs', 'fuse']);
  if (!cflags || !libs) cannotBuild('libfuse development files are missing: pkg-config knows no "fuse" (apt-get install libfuse-dev)');
  const missingTools = ['cc', 'g++', 'make', 'python3'].filter((t) => !onPath(t));
  if (missingTools.length) cannotBuild(`no C toolchain: ${missingTools.join(', ')} not on PATH (apt-get install build-essential python3)`);
  const gyp = nodeGypScript();
  if (!gyp) cannotBuild('node-gyp was not found (it ships with npm; or set npm_config_node_gyp)');
  let napiMacros;
  try {
    napiMacros = path.dirname(require.resolve('napi-macros/package.json', { paths: [pkgDir] }));
  } catch {
    fail('napi-macros (a dependency of fuse-native) is missing: run npm ci');
  }

  // Whatever was there is stale now: remove it first, so a failed build never
  // leaves an old binding that looks current.
  fs.rmSync(stampFile, { force: true });
  fs.rmSync(outFile, { force: true });
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });
  fs.writeFileSync(path.join(workDir, 'fuse-native.c'), patched);
  fs.writeFileSync(path.join(workDir, 'binding.gyp'), bindingGyp(cflags, libs, napiMacros));
  fs.writeFileSync(path.join(workDir, 'package.json'), JSON.stringify({ name: 'mogfs-fuse-native-build', private: true }) + '\n');

  console.error(`build-fuse: building patched fuse-native ${version} against the system libfuse`);
  const args = [gyp, 'rebuild', '--release', '--loglevel=warn'];
  const nd = nodeDir();
  if (nd) args.push(`--nodedir=${nd}`);
  const r = spawnSync(process.execPath, args, { cwd: workDir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout || ''}${r.stderr || ''}`);
    if (r.error) console.error(r.error.message);
    fail(`node-gyp failed (exit ${r.status}); the build is in ${path.relative(root, workDir)}`);
  }
  const built = path.join(workDir, 'build', 'Release', 'fuse.node');
  if (!fs.existsSync(built)) fail(`node-gyp succeeded but ${path.relative(root, built)} is missing`);

  // The new binding must load and carry the marker before it takes the
  // prebuilt's place.
  const check = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(require(process.argv[1]).mogfs_patch))', built], { encoding: 'utf8' });
  if (check.status !== 0 || check.stdout !== String(PATCH_LEVEL)) {
    fail(`the built binding does not load or lacks mogfs_patch: ${(check.stderr || check.stdout || '').trim().split('\n')[0]}`);
  }

  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const tmp = `${outFile}.${process.pid}.tmp`;
  fs.copyFileSync(built, tmp);
  fs.renameSync(tmp, outFile);
  fs.writeFileSync(stampFile, JSON.stringify({
    hash, recipe: RECIPE, patchLevel: PATCH_LEVEL, fuseNative: version,
    abi: process.versions.modules, arch: process.arch, node: process.versions.node,
    cflags, libs, built: new Date().toISOString(),
  }, null, 2) + '\n');
  console.error(`build-fuse: built ${path.relative(root, outFile)} (mogfs_patch ${PATCH_LEVEL})`);
}

main();
