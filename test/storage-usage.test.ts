// dev<N>/usage: the original's format, written at start and kept current,
// readable over HTTP the way the tracker's monitor reads it.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, mkdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { startTestStorage, rawHttp, type TestStorage } from './helpers/storage';

function parse(text: string): Record<string, string> {
  // The monitor's own parse: /^(\w+)\s*:\s*(.+)$/ per line.
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\w+)\s*:\s*(.+)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

describe('storage node usage files', () => {
  let ts: TestStorage;
  before(async () => {
    ts = await startTestStorage({ devices: [1, 3], usageIntervalMs: 200 });
  });
  after(async () => ts.cleanup());

  test('written for every device before start resolves, in the original format', async () => {
    for (const d of ts.devids) {
      const text = await readFile(path.join(ts.docroot, `dev${d}`, 'usage'), 'utf8');
      const lines = text.trimEnd().split('\n');
      assert.deepEqual(lines.map((l) => l.split(':')[0]), ['available', 'device', 'disk', 'time', 'total', 'use', 'used']);
      const u = parse(text);
      const fs = await statfs(path.join(ts.docroot, `dev${d}`));
      assert.equal(Number(u.total), Math.floor((fs.blocks * fs.bsize) / 1024));
      assert.ok(Number(u.total) > 0);
      assert.ok(Number(u.used) >= 0 && Number(u.used) <= Number(u.total));
      assert.ok(Number(u.available) <= Number(u.total));
      assert.match(u.use, /^\d+%$/);
      assert.equal(u.disk, path.join(ts.docroot, `dev${d}`));
      assert.ok(Math.abs(Number(u.time) - Date.now() / 1000) < 120, 'time is epoch seconds');
    }
  });

  test('served over HTTP at /dev<N>/usage as the monitor GETs it', async () => {
    const r = await rawHttp(ts.node.httpPort, 'GET /dev3/usage HTTP/1.0');
    assert.equal(r.status, 200);
    const u = parse(r.body.toString());
    assert.ok(u.used !== undefined && u.total !== undefined);
  });

  test('PUT, DELETE and MKCOL of a usage file are refused; GET keeps working', async () => {
    const file = path.join(ts.docroot, 'dev1', 'usage');
    const before = await readFile(file, 'utf8');
    // Free space the trackers trust: nobody but mogstored may write it, in any spelling.
    const lies = 'available: 999999999999\n';
    for (const target of ['/dev1/usage', '/dev1/%75sage', '//dev1/usage', '/dev1/usage/']) {
      const put = await rawHttp(ts.node.httpPort, `PUT ${target} HTTP/1.1\r\nContent-Length: ${lies.length}`, lies);
      assert.equal(put.status, 403, `PUT ${target}`);
      assert.match(put.body.toString(), /usage file.*written by mogstored/);
      const del = await rawHttp(ts.node.httpPort, `DELETE ${target} HTTP/1.1`);
      assert.equal(del.status, 403, `DELETE ${target}`);
    }
    // Nor made a directory, or anything below it.
    assert.equal((await rawHttp(ts.node.httpPort, 'MKCOL /dev1/usage HTTP/1.1')).status, 403);
    assert.equal((await rawHttp(ts.node.httpPort, 'PUT /dev1/usage/x.fid HTTP/1.1\r\nContent-Length: 1', 'x')).status, 403);
    const after = await readFile(file, 'utf8');
    assert.doesNotMatch(after, /999999999999/);
    assert.equal(Object.keys(parse(after)).length, Object.keys(parse(before)).length);
    const get = await rawHttp(ts.node.httpPort, 'GET /dev1/usage HTTP/1.0');
    assert.equal(get.status, 200);
    assert.ok(parse(get.body.toString()).total !== undefined);
    // A file merely named like it, deeper down, is an ordinary file.
    assert.equal((await rawHttp(ts.node.httpPort, 'PUT /dev3/0/usage HTTP/1.1\r\nContent-Length: 1', 'x')).status, 201);
    assert.equal((await rawHttp(ts.node.httpPort, 'DELETE /dev3/0/usage HTTP/1.1')).status, 204);
  });

  test('kept current, atomically, and picks up new devices', async () => {
    await mkdir(path.join(ts.docroot, 'dev4'));
    const first = Number(parse(await readFile(path.join(ts.docroot, 'dev1', 'usage'), 'utf8')).time);
    const deadline = Date.now() + 10_000;
    let sawDev4 = false;
    let newer = false;
    while (Date.now() < deadline && !(sawDev4 && newer)) {
      await new Promise((r) => setTimeout(r, 100));
      const text = await readFile(path.join(ts.docroot, 'dev1', 'usage'), 'utf8');
      // Never a half-written file.
      assert.equal(Object.keys(parse(text)).length, 7, JSON.stringify(text));
      newer = Number(parse(text).time) > first;
      sawDev4 = (await readdir(path.join(ts.docroot, 'dev4'))).includes('usage');
    }
    assert.ok(sawDev4, 'new device got a usage file');
    assert.ok(newer, 'usage time advanced');
    const leftovers = (await readdir(path.join(ts.docroot, 'dev1'))).filter((n) => n !== 'usage');
    assert.ok(leftovers.every((n) => n.startsWith('usage.tmp-')) && leftovers.length <= 1);
  });
});
