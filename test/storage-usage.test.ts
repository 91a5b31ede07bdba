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
