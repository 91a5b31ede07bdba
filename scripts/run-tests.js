#!/usr/bin/env node
// `npm test`: starts one private MariaDB for the whole run (temp datadir,
// socket and free port, never the system instance), exports its URL as
// MOGFS_TEST_MYSQL, runs every compiled test with node's test runner, and
// stops MariaDB again whatever happens.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const inCI = process.env.CI === 'true' || process.env.CI === '1';

function findTests(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findTests(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

function startMariadb() {
  const helper = path.join(dist, 'test', 'helpers', 'mariadb.js');
  const r = spawnSync(process.execPath, [helper, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    return null;
  }
}

function stopMariadb(info) {
  if (!info) return;
  const helper = path.join(dist, 'test', 'helpers', 'mariadb.js');
  spawnSync(process.execPath, [helper, 'stop', info.datadir], { stdio: 'inherit' });
}

async function main() {
  const files = findTests(path.join(dist, 'test'))
    .filter((f) => process.argv.length <= 2 || process.argv.slice(2).some((a) => f.includes(a)));
  if (files.length === 0) {
    console.error('run-tests: no compiled tests found under dist/test (did the build run?)');
    process.exit(1);
  }
  let db = null;
  if (!process.env.MOGFS_TEST_MYSQL) {
    db = startMariadb();
    if (db) {
      process.env.MOGFS_TEST_MYSQL = db.url;
      console.error(`run-tests: private MariaDB at ${db.url} (datadir ${db.datadir})`);
    } else if (inCI) {
      console.error('run-tests: could not start a private MariaDB, and CI needs the MySQL engine tested');
      process.exit(1);
    } else {
      console.error('run-tests: no MariaDB; MySQL variants will be skipped (install mariadb-server)');
    }
  }
  const env = { ...process.env, MOGFS_LOG_LEVEL: process.env.MOGFS_LOG_LEVEL || 'silent' };
  const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
  stopMariadb(db);
  process.exit(code);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
