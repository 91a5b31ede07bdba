// mogilefsd's `user` setting resolves the user through NSS, not by reading
// /etc/passwd: the user here exists only in nss_wrapper's files (Debian's
// libnss-wrapper, preloaded), as a user from LDAP exists only in LDAP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jsonLogs, spawnDaemon, terminate } from './helpers/daemons';

const WRAPPER = ['/usr/lib/x86_64-linux-gnu/libnss_wrapper.so', '/usr/lib/aarch64-linux-gnu/libnss_wrapper.so', '/usr/lib/libnss_wrapper.so']
  .find((p) => existsSync(p));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const skip = !isRoot ? 'needs root (the switch only happens when started as root)'
  : !WRAPPER && !inCI ? 'libnss-wrapper is not installed (apt-get install libnss-wrapper)' : false;

function idsOf(pid: number, status: string, field: 'Uid' | 'Gid' | 'Groups'): number[] {
  const line = status.split('\n').find((l) => l.startsWith(`${field}:`));
  assert.ok(line, `no ${field} line in /proc/${pid}/status`);
  return line.slice(field.length + 1).trim().split(/\s+/).filter(Boolean).map(Number);
}

function noop(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('noop\r\n'));
    s.once('data', (d) => { resolve(d.toString()); s.destroy(); });
    s.once('error', reject);
  });
}

test('mogilefsd --user switches to a user and groups known only to NSS, once listening', { skip }, async () => {
  assert.ok(WRAPPER, 'libnss-wrapper is missing: scripts/ensure.js test installs it');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mogfs-user-'));
  await chmod(dir, 0o755);
  try {
    await writeFile(path.join(dir, 'passwd'), 'mogtest:x:4242:4243:mogfs test:/nonexistent:/bin/false\n');
    await writeFile(path.join(dir, 'group'), 'mogtest:x:4243:\nmogextra:x:4244:mogtest\n');
    assert.ok(!(await readFile('/etc/passwd', 'utf8')).includes('mogtest:'), 'mogtest must not be in /etc/passwd for this test');
    const env = { LD_PRELOAD: WRAPPER, NSS_WRAPPER_PASSWD: path.join(dir, 'passwd'), NSS_WRAPPER_GROUP: path.join(dir, 'group') };

    const d = spawnDaemon('mogilefsd', ['-s', '--no-workers', '--db', `sqlite:${path.join(dir, 'm.sqlite')}`, '--listen', '127.0.0.1:0', '--user', 'mogtest'], env);
    try {
      const line = await d.ready;
      const port = Number(/listening [\d.]+:(\d+)/.exec(line)![1]);
      const pid = d.child.pid!;
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      assert.deepEqual(idsOf(pid, status, 'Uid'), [4242, 4242, 4242, 4242]);
      assert.deepEqual(idsOf(pid, status, 'Gid'), [4243, 4243, 4243, 4243]);
      assert.deepEqual(idsOf(pid, status, 'Groups').sort(), [4243, 4244]);
      assert.match(await noop(port), /^OK/);
      // The log line comes through stderr in its own time: looked for until it is there (bounded).
      let switched: Record<string, unknown> | undefined;
      for (let i = 0; i < 100 && !switched; i++) {
        switched = jsonLogs(d.stderr()).find((r) => r.msg === 'switched user');
        if (!switched) await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(switched && { user: switched.user, uid: switched.uid, gid: switched.gid }, { user: 'mogtest', uid: 4242, gid: 4243 });
    } finally {
      // Also on a failure: a daemon left running keeps the test file (and the whole run) waiting.
      assert.equal((await terminate(d)).code, 0);
    }

    // A user NSS does not know stops the start-up before anything listens.
    const bad = spawnDaemon('mogilefsd', ['-s', '--db', `sqlite:${path.join(dir, 'm.sqlite')}`, '--listen', '127.0.0.1:0', '--user', 'nosuchmoguser'], env);
    await assert.rejects(bad.ready, /exited \(1\) before listening/);
    assert.match(bad.stderr(), /user "nosuchmoguser" is not in the system's user database \(getent passwd nosuchmoguser finds nothing\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
