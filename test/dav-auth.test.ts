/**
 * `mogfs dav` with a users file (made by `mogfs dav-user`): missing or wrong
 * credentials get 401 and neither read nor change anything, a read-only
 * user reads but cannot write, anonymous reading when allowed; and HTTPS
 * with a certificate and key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { runMogfs } from './helpers/cli';
import { dav, stopAllDav } from './helpers/dav';
import { sh } from './helpers/mount';

let c: Cluster;
let dir: string;
let users: string;
before(async () => {
  c = await startCluster();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-davauth-'));
  users = path.join(dir, 'users');
  for (const [name, pw, ro] of [['alice', 'wonderland', false], ['bob', 'builder', true]] as const) {
    const r = await runMogfs(['dav-user', users, name, ...(ro ? ['--read-only'] : [])], { input: `${pw}\n` });
    assert.equal(r.code, 0, r.stderr);
  }
});
after(async () => {
  await stopAllDav();
  await c?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

const basic = (user: string, pw: string): string => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

test('the users file holds scrypt hashes, not passwords, and is private', async () => {
  const text = await fs.readFile(users, 'utf8');
  assert.match(text, /^alice:scrypt\$\d+\$\d+\$\d+\$[^:]+:rw$/m);
  assert.match(text, /^bob:scrypt\$[^:]+:ro$/m);
  assert.doesNotMatch(text, /wonderland|builder/);
  assert.equal((await fs.stat(users)).mode & 0o777, 0o600);
});

test('without valid credentials: 401 for reads and writes, and nothing changes', async () => {
  await c.client.storeBuffer('secret.txt', Buffer.from('classified'));
  const d = await dav(c.trackers, { domain: 'default', args: ['--users', users] });
  for (const auth of [undefined, basic('alice', 'wrong'), basic('mallory', 'wonderland'), 'Bearer x']) {
    const headers: Record<string, string> = auth ? { Authorization: auth } : {};
    const g = await fetch(`${d.url}secret.txt`, { headers });
    assert.equal(g.status, 401);
    assert.match(g.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.doesNotMatch(await g.text(), /classified/);
    assert.equal((await fetch(`${d.url}secret.txt`, { method: 'PUT', headers, body: 'overwritten' })).status, 401);
    assert.equal((await fetch(`${d.url}secret.txt`, { method: 'DELETE', headers })).status, 401);
    assert.equal((await fetch(`${d.url}new.txt`, { method: 'PUT', headers, body: 'new' })).status, 401);
    assert.equal((await fetch(d.url, { method: 'PROPFIND', headers: { ...headers, Depth: '1' } })).status, 401);
  }
  assert.equal((await c.client.getBuffer('secret.txt')).toString(), 'classified');
  await assert.rejects(c.client.getBuffer('new.txt'));

  const bob = { Authorization: basic('bob', 'builder') };
  assert.equal(await (await fetch(`${d.url}secret.txt`, { headers: bob })).text(), 'classified');
  assert.equal((await fetch(`${d.url}secret.txt`, { method: 'PUT', headers: bob, body: 'bob was here' })).status, 403);
  assert.equal((await fetch(`${d.url}bob`, { method: 'MKCOL', headers: bob })).status, 403);
  assert.equal((await c.client.getBuffer('secret.txt')).toString(), 'classified');

  const alice = { Authorization: basic('alice', 'wonderland') };
  assert.equal((await fetch(`${d.url}secret.txt`, { method: 'PUT', headers: alice, body: 'declassified' })).status, 204);
  assert.equal((await c.client.getBuffer('secret.txt')).toString(), 'declassified');
  await d.stop();
});

test('--anonymous-read: reading needs no credentials, writing asks for them', async () => {
  const d = await dav(c.trackers, { domain: 'default', args: ['--users', users, '--anonymous-read'] });
  assert.equal(await (await fetch(`${d.url}secret.txt`)).text(), 'declassified');
  const w = await fetch(`${d.url}secret.txt`, { method: 'PUT', body: 'anon' });
  assert.equal(w.status, 401);
  assert.equal((await c.client.getBuffer('secret.txt')).toString(), 'declassified');
  await d.stop();
});

test('HTTPS with --tls-cert and --tls-key', async () => {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1']);
  const d = await dav(c.trackers, { domain: 'default', args: ['--tls-cert', cert, '--tls-key', key] });
  assert.match(d.url, /^https:/);
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  const r = await undiciFetch(`${d.url}secret.txt`, { dispatcher });
  assert.equal(await r.text(), 'declassified');
  await dispatcher.close();
  await d.stop();
});
