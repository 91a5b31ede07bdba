// The real mogstored process: starts from flags, serves, stops on signals.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { rawHttp, connectSideChannel } from './helpers/storage';

const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'mogstored.js');

interface Started {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function start(args: string[]): Started & { ready: Promise<string> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOGFS_LOG_LEVEL: 'silent' } });
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr: err })),
  );
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mogstored printed no listening line; stderr: ${err}`)), 15_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.includes('listening'));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`mogstored exited (${code}) before listening; stderr: ${err}`));
    });
  });
  return { child, exit, ready };
}

describe('mogstored CLI', () => {
  let docroot: string;
  before(async () => {
    docroot = await mkdtemp(path.join(os.tmpdir(), 'mogfs-cli-'));
    await mkdir(path.join(docroot, 'dev1'));
    await mkdir(path.join(docroot, 'dev2'));
  });
  after(async () => rm(docroot, { recursive: true, force: true }));

  for (const [i, signal] of (['SIGTERM', 'SIGINT'] as const).entries()) {
    test(`starts, serves HTTP and side channel, stops cleanly on ${signal}`, async () => {
      const s = start(['--docroot', docroot, '--httplisten', '127.0.0.1:0', '--mgmtlisten', '127.0.0.1:0']);
      const line = await s.ready;
      const http = /http=127\.0\.0\.1:(\d+)/.exec(line);
      const mgmt = /mgmt=127\.0\.0\.1:(\d+)/.exec(line);
      assert.ok(http && mgmt, line);
      const usage = await rawHttp(Number(http[1]), 'GET /dev2/usage HTTP/1.1');
      assert.equal(usage.status, 200);
      assert.match(usage.body.toString(), /^available: \d+$/m);
      const fid = `/dev1/0/000/000/000000000${i + 1}.fid`;
      const put = await rawHttp(Number(http[1]), `PUT ${fid} HTTP/1.1\r\nContent-Length: 3`, 'abc');
      assert.equal(put.status, 201);
      const sc = await connectSideChannel(Number(mgmt[1]));
      assert.equal(await sc.ask(`size ${fid}`), `${fid} 3`);
      // An open idle side channel connection must not keep the process alive.
      s.child.kill(signal);
      const { code, signal: sig } = await s.exit;
      sc.close();
      assert.equal(sig, null, 'exited by itself, not killed');
      assert.equal(code, 0);
    });
  }

  test('reads the original mogstored.conf keys', async () => {
    const conf = path.join(docroot, 'mogstored.conf');
    await writeFile(conf, `# test config\nhttplisten = 127.0.0.1:0\nmgmtlisten=127.0.0.1:0\ndocroot = ${docroot}\n`);
    const s = start(['--config', conf]);
    const line = await s.ready;
    assert.match(line, new RegExp(`docroot=${docroot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    s.child.kill('SIGTERM');
    assert.equal((await s.exit).code, 0);
  });

  test('bad flags and a missing docroot fail with a message', async () => {
    const bad = start(['--docroot', docroot, '--httplisten', 'nonsense']);
    await assert.rejects(bad.ready);
    const r1 = await bad.exit;
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /--httplisten must look like HOST:PORT/);
    const missing = start(['--docroot', path.join(docroot, 'nope'), '--httplisten', '127.0.0.1:0', '--mgmtlisten', '127.0.0.1:0']);
    await assert.rejects(missing.ready);
    const r2 = await missing.exit;
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /docroot .* is not a directory/);
  });
});
