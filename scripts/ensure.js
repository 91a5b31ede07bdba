#!/usr/bin/env node
// Gets a fresh checkout ready for `npm start`, `npm test` or `npm run bench`,
// using only Node built-ins: Debian packages (when root on Debian), `npm ci`
// when node_modules is missing or stale, the patched FUSE binding
// (scripts/build-fuse.js, a no-op when current), then the TypeScript build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const mode = process.argv[2] || 'start';
const inCI = process.env.CI === 'true' || process.env.CI === '1';

// What each mode needs from Debian. MariaDB is the production store and is
// tested for real; fuse/libfuse2 mount, and libfuse-dev/pkg-config build the
// patched fuse-native binding against them; litmus, davfs2, rclone, nginx and
// chromium are the real clients and servers the bridge is tested against;
// build-essential/python3 build better-sqlite3 when the packed tarball is
// installed; libnss-wrapper gives a test users that only NSS knows.
const PACKAGES = {
  start: ['fuse', 'libfuse2', 'libfuse-dev', 'pkg-config'],
  test: ['mariadb-server', 'fuse', 'libfuse2', 'libfuse-dev', 'pkg-config', 'build-essential', 'python3', 'litmus', 'rsync', 'attr',
    'davfs2', 'rclone', 'nginx', 'chromium', 'libnss-wrapper'],
  bench: ['mariadb-server', 'fuse', 'libfuse2', 'libfuse-dev', 'pkg-config', 'rsync', 'rclone',
    'nginx', 'libnginx-mod-http-dav-ext'],
};

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  return r.status === 0;
}

function missingDebianPackages(names) {
  return names.filter((n) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', n], { encoding: 'utf8' });
    return r.status !== 0 || !/install ok installed/.test(r.stdout);
  });
}

function ensureDebianPackages() {
  const wanted = PACKAGES[mode] || [];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!fs.existsSync('/usr/bin/apt-get') || !fs.existsSync('/usr/bin/dpkg-query')) return;
  const missing = missingDebianPackages(wanted);
  if (missing.length === 0) return;
  if (!isRoot) {
    console.error(`ensure: missing Debian packages (${missing.join(' ')}); run as root or: apt-get install -y ${missing.join(' ')}`);
    if (inCI) process.exit(1);
    return;
  }
  console.error(`ensure: installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  if (!run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env })) {
    console.error('ensure: apt-get install failed');
    if (inCI) process.exit(1);
  }
}

function mtime(p) {
  try { return fs.statSync(p).mtimeMs; } catch { return -1; }
}

function ensureNodeModules() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  if (mtime(marker) >= 0 && mtime(marker) >= mtime(path.join(root, 'package-lock.json'))) return;
  console.error('ensure: installing npm packages (npm ci)');
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) {
    console.error('ensure: npm ci failed');
    process.exit(1);
  }
}

// Runs every time, so a node_modules that was already current still gets the
// build; build-fuse.js skips when its stamp matches, and exits 0 (1 under CI)
// when this machine cannot build it.
function buildFuse() {
  if (!run(process.execPath, [path.join(__dirname, 'build-fuse.js')])) {
    console.error('ensure: building the patched FUSE binding failed');
    process.exit(1);
  }
}

function build() {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!run(process.execPath, [tsc, '-p', 'tsconfig.json'])) {
    console.error('ensure: TypeScript build failed');
    process.exit(1);
  }
}

ensureDebianPackages();
ensureNodeModules();
buildFuse();
build();
